"""postgres: connects and queries (what pg_isready answers, and more): version, role,
connections in use against those available to clients."""

from __future__ import annotations

from typing import Any

from opsbook.clients import postgres as pg
from opsbook.config.checks import PostgresCheck, Role
from opsbook.errors import DatabaseError, TargetUnreachable
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.secrets import mask_dsn
from opsbook.status import Status, worst

# reserved_connections exists from PostgreSQL 16; current_setting(..., true) gives NULL before.
QUERY = """
SELECT current_setting('server_version') AS version,
       pg_is_in_recovery() AS in_recovery,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int
         + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used
"""


def describe(check: PostgresCheck) -> str:
    return mask_dsn(check.dsn)


async def run(check: PostgresCheck, phase: Phase) -> Reading:
    phase.at("connecting to PostgreSQL")
    try:
        conn = await pg.connect_async(check.dsn, timeout=check.timeout, application="opsbook-check")
    except DatabaseError as exc:
        raise TargetUnreachable(exc.reason) from exc
    try:
        phase.at("for the status query")
        with pg.translated(dsn=check.dsn):
            async with conn.cursor() as cur:
                await cur.execute(QUERY)
                row = await cur.fetchone()
    except DatabaseError as exc:
        raise TargetUnreachable(f"query failed: {exc.reason}") from exc
    finally:
        await conn.close()
    assert row is not None
    return assess(check, row)


def assess(check: PostgresCheck, row: dict[str, Any]) -> Reading:
    available = max(1, row["max_connections"] - row["reserved"])
    used = row["used"]
    pct = round(used * 100 / available, 4)  # 1 of 5000 connections is not 0 %
    role = Role.REPLICA if row["in_recovery"] else Role.PRIMARY
    statuses = [rising(pct, check.warning, check.critical)]
    message = (
        f"PostgreSQL {row['version'].split()[0]} {role.value}, "
        f"{used}/{available} connections ({pct:.1f}%)"
    )
    if check.role is not Role.ANY and role is not check.role:
        statuses.append(Status.CRITICAL)
        message += f"; expected {check.role.value}"
    metrics = (
        Metric(
            "connections_used",
            pct,
            Unit.PERCENT,
            above(check.warning),
            above(check.critical),
            0,
            100,
        ),
        Metric("connections", float(used), Unit.COUNT, min=0, max=float(available)),
    )
    details = {
        "version": row["version"],
        "role": role.value,
        "max_connections": row["max_connections"],
        "reserved_connections": row["reserved"],
    }
    return Reading(worst(statuses), message, pct, Unit.PERCENT, metrics, details)
