"""container: the containers the stack is made of, through the Engine API (Docker's socket,
or Podman's compatible one): the runbook's `docker-compose ps` and `docker stats --no-stream`.

CRITICAL: a container not running (exited, dead; its exit code, OOM-killed or not), restarting
in a loop (`restarts` within `window`, counted between runs), unhealthy by its image's
HEALTHCHECK, a compose service with fewer replicas running than declared, memory over
`memory_critical` of its limit, nothing matching. WARNING: health still starting, memory over
`memory_warning`, CPU over `cpu_warning` of its limit, killed for memory at its last exit.
"""

from __future__ import annotations

import asyncio
import collections
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from opsbook.config.container_checks import COMPOSE_SERVICE, ContainerCheck
from opsbook.errors import CheckUnavailable, DockerError, TargetUnreachable
from opsbook.results import Metric, Phase, Reading, Unit, above
from opsbook.status import Status, worst
from opsbook.units import format_bytes, format_duration

# container id -> (monotonic time, restart count) seen by earlier runs, for "in a loop"
_RESTARTS: dict[str, collections.deque[tuple[float, int]]] = {}


def describe(check: ContainerCheck) -> str:
    return check.describe()


async def run(check: ContainerCheck, phase: Phase) -> Reading:
    phase.at("for the Engine API")
    return await asyncio.to_thread(_read, check)


def _read(check: ContainerCheck) -> Reading:
    from opsbook.clients.docker import Docker

    api = Docker(check.socket, timeout=max(1.0, check.timeout - 1))
    try:
        listed = api.containers(check.filters())
        inspected = [api.inspect(c["Id"]) for c in listed]
        running = [c["Id"] for c in inspected if c["State"]["Running"]]
        # each sample waits for the daemon's next reading (about a second): all at once
        with ThreadPoolExecutor(max_workers=min(16, len(running) or 1)) as pool:
            stats = dict(zip(running, pool.map(api.stats, running), strict=True))
    except DockerError as exc:
        if exc.status is None and "no Docker socket" in str(exc):
            raise CheckUnavailable(str(exc)) from None
        raise TargetUnreachable(str(exc)) from None
    return assess(check, inspected, stats, _declared(check))


def _declared(check: ContainerCheck) -> dict[str, int]:
    """Replicas declared per service: replicas:, else the compose file's."""
    if check.replicas or not check.compose_file:
        return dict(check.replicas)
    import yaml

    try:
        doc = yaml.safe_load(Path(check.compose_file).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CheckUnavailable(f"compose_file {check.compose_file}: {exc}") from None
    out = {}
    for name, given in ((doc or {}).get("services") or {}).items():
        spec = given or {}
        out[str(name)] = int((spec.get("deploy") or {}).get("replicas") or spec.get("scale") or 1)
    return {n: r for n, r in out.items() if not check.service or n == check.service}


def assess(
    check: ContainerCheck,
    containers: list[dict[str, Any]],
    stats: dict[str, dict[str, Any]],
    declared: dict[str, int],
) -> Reading:
    if not containers and not declared:
        return Reading(Status.CRITICAL, f"no {check.describe()} (none running or stopped)")
    statuses: list[Status] = []
    bad: list[str] = []
    good: list[str] = []
    metrics: list[Metric] = []
    for c in containers:
        status, said, own = _one(check, c, stats.get(c["Id"]))
        statuses.append(status)
        metrics += own
        (bad if status is not Status.OK else good).append(said)
    running: collections.Counter[str] = collections.Counter(
        c["Config"]["Labels"].get(COMPOSE_SERVICE, "") for c in containers if c["State"]["Running"]
    )
    for service, want in sorted(declared.items()):
        metrics.append(Metric(f"{service}_running", float(running[service]), Unit.COUNT, min=0))
        if running[service] < want:
            statuses.append(Status.CRITICAL)
            bad.insert(0, f"{service}: {running[service]} of {want} replicas running")
    total = sum(1 for c in containers if c["State"]["Running"])
    head = f"{total} of {len(containers)} running"
    message = head + ("; " + "; ".join(bad) if bad else ("; " + ", ".join(good[:5])))
    return Reading(worst(statuses), message, float(total), Unit.COUNT, tuple(metrics))


def _one(
    check: ContainerCheck, c: dict[str, Any], stat: dict[str, Any] | None
) -> tuple[Status, str, list[Metric]]:
    name = c["Name"].lstrip("/")
    state = c["State"]
    restarts = int(c.get("RestartCount", 0))
    loop = _restarts_in_window(c["Id"], restarts, check.window)
    if restarts >= check.restarts and _age(state.get("StartedAt")) < check.window:
        loop = max(loop, restarts)  # a first look: many restarts, the latest one recent
    metrics = [Metric(f"{name}_restarts", float(restarts), Unit.COUNTER, min=0)]
    oom = " (OOM-killed)" if state.get("OOMKilled") else ""
    if state.get("Restarting") or loop >= check.restarts:
        said = f"{name} restarting in a loop: {loop} restarts in {format_duration(check.window)}"
        last = "" if state.get("Running") else f" (exit {state.get('ExitCode')})"
        return Status.CRITICAL, f"{said}{last}{oom}", metrics
    if not state.get("Running"):
        code = state.get("ExitCode")
        killed = ": killed (SIGKILL)" if code == 137 and not oom else ""
        return Status.CRITICAL, f"{name} {state.get('Status')} (exit {code}{killed}){oom}", metrics
    statuses = [Status.OK]
    parts = [f"{name} up"]
    health = (state.get("Health") or {}).get("Status")
    if health == "unhealthy":
        statuses.append(Status.CRITICAL)
        log = (state.get("Health") or {}).get("Log") or [{}]
        parts.append(f"unhealthy: {str(log[-1].get('Output', '')).strip()[:120]}")
    elif health == "starting":
        statuses.append(Status.WARNING)
        parts.append("health starting")
    if oom:
        statuses.append(Status.WARNING)
        parts.append("OOM-killed at its last exit")
    if stat is not None:
        use_status, use_said, own = _usage(check, c, name, stat)
        statuses.append(use_status)
        parts += use_said
        metrics += own
    return worst(statuses), ", ".join(parts), metrics


def _usage(
    check: ContainerCheck, c: dict[str, Any], name: str, stat: dict[str, Any]
) -> tuple[Status, list[str], list[Metric]]:
    memory = stat.get("memory_stats") or {}
    usage = int(memory.get("usage") or 0)
    detail = memory.get("stats") or {}
    usage -= int(detail.get("inactive_file", detail.get("total_inactive_file", 0)) or 0)
    limit = int(memory.get("limit") or 0)
    statuses: list[Status] = [Status.OK]
    said: list[str] = []
    metrics = [Metric(f"{name}_memory_bytes", float(max(usage, 0)), Unit.BYTES, min=0)]
    if limit:
        pct = max(usage, 0) * 100 / limit
        metrics.append(
            Metric(
                f"{name}_memory_used",
                round(pct, 2),
                Unit.PERCENT,
                above(check.memory_warning),
                above(check.memory_critical),
                0,
                100,
            )
        )
        said.append(f"memory {format_bytes(max(usage, 0))} ({pct:.0f}% of {format_bytes(limit)})")
        if pct >= check.memory_critical:
            statuses.append(Status.CRITICAL)
        elif pct >= check.memory_warning:
            statuses.append(Status.WARNING)
    cpu = _cpu_percent(c, stat)
    if cpu is not None:
        metrics.append(Metric(f"{name}_cpu", round(cpu, 2), Unit.PERCENT, min=0))
        said.append(f"cpu {cpu:.0f}%")
        if check.cpu_warning is not None and cpu >= check.cpu_warning:
            statuses.append(Status.WARNING)
    return worst(statuses), said, metrics


def _cpu_percent(c: dict[str, Any], stat: dict[str, Any]) -> float | None:
    """Of the container's CPU limit (NanoCpus), else of the whole host (docker stats' way,
    divided by the CPUs, so 100 % means every CPU it may use is busy)."""
    now, before = stat.get("cpu_stats") or {}, stat.get("precpu_stats") or {}
    used = (now.get("cpu_usage") or {}).get("total_usage", 0) - (
        (before.get("cpu_usage") or {}).get("total_usage", 0)
    )
    system = (now.get("system_cpu_usage") or 0) - (before.get("system_cpu_usage") or 0)
    cpus = now.get("online_cpus") or len((now.get("cpu_usage") or {}).get("percpu_usage") or [1])
    if system <= 0 or used < 0:
        return None
    share = used / system * cpus  # CPUs' worth busy
    allowed = float((c.get("HostConfig") or {}).get("NanoCpus") or 0)
    return float(share * 100 / (allowed / 1e9) if allowed else share * 100 / cpus)


def _age(started: str | None) -> float:
    """Seconds since a container started (its StartedAt, RFC 3339 with nanoseconds)."""
    from datetime import UTC, datetime

    if not started or started.startswith("0001-"):
        return float("inf")
    text = started.rstrip("Z").split(".")[0]
    at = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return (datetime.now(UTC) - at).total_seconds()


def _restarts_in_window(container: str, count: int, window: float) -> int:
    seen = _RESTARTS.setdefault(container, collections.deque())
    now = time.monotonic()
    seen.append((now, count))
    while seen and seen[0][0] < now - window:
        seen.popleft()
    return count - seen[0][1] if seen else 0
