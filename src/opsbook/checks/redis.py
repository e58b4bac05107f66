"""redis: PING answers; memory against maxmemory, clients against maxclients, the role,
and whether the last background save worked."""

from __future__ import annotations

from opsbook.clients.resp import RedisAddress, RedisClient, parse_info
from opsbook.config.checks import RedisCheck, Role
from opsbook.errors import RedisReplyError, TargetUnreachable
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.secrets import mask_url
from opsbook.status import Status, worst
from opsbook.units import format_bytes, format_duration


def describe(check: RedisCheck) -> str:
    return mask_url(check.url)


async def run(check: RedisCheck, phase: Phase) -> Reading:
    address = RedisAddress.from_url(check.url)
    client = await RedisClient.connect(address, phase)
    try:
        phase.at("for PING")
        try:
            pong = await client.command("PING")
            phase.at("for INFO")
            raw = await client.command("INFO")
        except RedisReplyError as exc:
            text = str(exc)
            if text.startswith(("NOAUTH", "WRONGPASS")):
                raise TargetUnreachable(f"auth failed: {text}") from None
            if text.startswith("LOADING"):
                raise TargetUnreachable("Redis is loading its dataset into memory") from None
            raise TargetUnreachable(f"Redis error: {text}") from None
    finally:
        await client.close()
    if pong != b"PONG":
        raise TargetUnreachable(f"PING answered {pong!r}, expected PONG")
    info = parse_info(raw.decode(errors="replace") if isinstance(raw, bytes) else "")
    return assess(check, info)


def assess(check: RedisCheck, info: dict[str, str]) -> Reading:
    used = int(info.get("used_memory", "0"))
    maxmemory = int(info.get("maxmemory", "0"))
    system = int(info.get("total_system_memory", "0"))
    limit = maxmemory or system
    mem_pct = round(used * 100 / limit, 4) if limit else 0.0
    clients = int(info.get("connected_clients", "0"))
    maxclients = int(info.get("maxclients", "0"))
    clients_pct = round(clients * 100 / maxclients, 4) if maxclients else 0.0  # 1 of 10000: not 0
    role = info.get("role", "unknown")
    version = info.get("redis_version", "?")

    statuses = [
        rising(mem_pct, check.warning, check.critical) if limit else Status.OK,
        rising(clients_pct, check.clients_warning, check.clients_critical),
    ]
    of = f"maxmemory {format_bytes(maxmemory)}" if maxmemory else "system memory, no maxmemory"
    parts = [
        f"Redis {version} {role}",
        f"memory {format_bytes(used)} ({mem_pct:.1f}% of {of})",
        f"{clients} client{'s' if clients != 1 else ''}"
        + (f" of {maxclients}" if maxclients else ""),
    ]
    problems = []
    expected = check.role
    actual = "primary" if role == "master" else "replica" if role == "slave" else role
    if expected is not Role.ANY and actual != expected.value:
        statuses.append(Status.CRITICAL)
        problems.append(f"expected {expected.value}, is {actual}")
    if info.get("rdb_last_bgsave_status", "ok") != "ok":
        statuses.append(Status.WARNING)
        problems.append("last background save failed")
    if info.get("aof_enabled") == "1" and info.get("aof_last_write_status", "ok") != "ok":
        statuses.append(Status.WARNING)
        problems.append("last AOF write failed")
    if role == "slave" and info.get("master_link_status") == "down":
        statuses.append(Status.CRITICAL)
        down = info.get("master_link_down_since_seconds")
        problems.append(
            "link to primary down" + (f" for {format_duration(float(down))}" if down else "")
        )
    message = ", ".join(parts) + ("; " + "; ".join(problems) if problems else "")
    metrics = (
        Metric(
            "memory_used",
            mem_pct,
            Unit.PERCENT,
            above(check.warning),
            above(check.critical),
            0,
            100,
        ),
        Metric(
            "memory_used_bytes", float(used), Unit.BYTES, min=0, max=float(limit) if limit else None
        ),
        Metric(
            "clients",
            float(clients),
            Unit.COUNT,
            min=0,
            max=float(maxclients) if maxclients else None,
        ),
    )
    details = {"version": version, "role": actual, "maxmemory": maxmemory, "maxclients": maxclients}
    return Reading(worst(statuses), message, mem_pct, Unit.PERCENT, metrics, details)
