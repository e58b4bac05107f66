"""postgres: connects and queries (what pg_isready answers, and more): version, role,
connections in use against those available to clients."""

from __future__ import annotations

import math
from typing import Any

import psycopg
from psycopg.rows import dict_row

from opsbook.config.checks import PostgresCheck, Role
from opsbook.errors import TargetUnreachable
from opsbook.results import Metric, Phase, Reading, Unit, rising
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
        conn = await psycopg.AsyncConnection.connect(
            check.dsn,
            connect_timeout=max(1, math.ceil(check.timeout)),
            application_name="opsbook-check",
            autocommit=True,
        )
    except psycopg.Error as exc:
        raise TargetUnreachable(_reason(exc)) from None
    try:
        phase.at("for the status query")
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(QUERY)
            row = await cur.fetchone()
    except psycopg.Error as exc:
        raise TargetUnreachable(f"query failed: {_reason(exc)}") from None
    finally:
        await conn.close()
    assert row is not None
    return assess(check, row)


def assess(check: PostgresCheck, row: dict[str, Any]) -> Reading:
    available = max(1, row["max_connections"] - row["reserved"])
    used = row["used"]
    pct = round(used * 100 / available, 1)
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
        Metric("connections_used", pct, Unit.PERCENT, check.warning, check.critical, 0, 100),
        Metric("connections", float(used), Unit.COUNT, min=0, max=float(available)),
    )
    details = {
        "version": row["version"],
        "role": role.value,
        "max_connections": row["max_connections"],
        "reserved_connections": row["reserved"],
    }
    return Reading(worst(statuses), message, pct, Unit.PERCENT, metrics, details)


def _reason(exc: Exception) -> str:
    """libpq's message, first meaningful line, with the usual causes named plainly."""
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # "connection failed: connection to server at "h" (ip), port p failed: FATAL:  ..."
    detail = lines[0].removeprefix("connection failed: ") if lines else type(exc).__name__
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return f"auth failed: {detail}"
    if "could not translate host name" in low or "name or service not known" in low:
        return f"DNS failure: {detail}"
    if "connection refused" in low:
        return f"connection refused: {detail}"
    if "timeout expired" in low:
        return f"timed out connecting: {detail}"
    return detail
