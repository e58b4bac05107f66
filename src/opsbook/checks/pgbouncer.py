"""pgbouncer: connection pool use from PgBouncer's admin console.

Per pool (database, user): server connections in use of the pool's size, clients waiting
and the longest wait (SHOW POOLS, SHOW DATABASES); per database: PgBouncer's own averages
over its stats period (SHOW STATS): queries per second, query and wait time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from opsbook.checks.pgsession import session
from opsbook.config.db_checks import PgBouncerCheck
from opsbook.errors import CheckUnavailable, DatabaseError
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.secrets import mask_dsn
from opsbook.status import Status, worst
from opsbook.units import format_latency

OWN = "pgbouncer"  # the admin console's own pseudo-database


@dataclass(frozen=True)
class Pool:
    database: str
    user: str
    size: int
    active: int  # server connections linked to a client
    idle: int
    waiting: int  # clients waiting for a server connection
    maxwait: float  # seconds the oldest waiting client has waited

    @property
    def used(self) -> float:
        return 100.0 * self.active / self.size if self.size else 0.0


def describe(check: PgBouncerCheck) -> str:
    return mask_dsn(check.dsn)


async def run(check: PgBouncerCheck, phase: Phase) -> Reading:
    phase.at("for SHOW POOLS")
    pools, stats = await asyncio.to_thread(fetch, check)
    return assess(check, pools, stats)


def fetch(check: PgBouncerCheck) -> tuple[list[Pool], list[dict[str, Any]]]:
    try:
        with session(check.dsn, check.timeout, tag=False) as conn:
            sizes = {r["name"]: int(r["pool_size"] or 0)
                     for r in conn.execute("SHOW DATABASES")}  # fmt: skip
            pools = [
                Pool(r["database"], r["user"], sizes.get(r["database"], 0), int(r["sv_active"]),
                     int(r["sv_idle"]), int(r["cl_waiting"]),
                     int(r["maxwait"]) + int(r.get("maxwait_us") or 0) / 1e6)
                for r in conn.execute("SHOW POOLS")
            ]  # fmt: skip
            stats = list(conn.execute("SHOW STATS"))
    except DatabaseError as exc:
        # a PostgreSQL server (42704: no setting "databases") or a pooled database
        if exc.sqlstate in ("08P01", "42601", "42704") or "invalid command" in exc.reason:
            raise CheckUnavailable(
                f"{exc.reason} (dsn: expected PgBouncer's admin console, "
                "postgresql://USER@HOST:6432/pgbouncer, USER in stats_users)"
            ) from exc
        raise CheckUnavailable(f"SHOW POOLS failed: {exc.reason}") from exc
    return pools, stats


def assess(check: PgBouncerCheck, pools: list[Pool], stats: list[dict[str, Any]]) -> Reading:
    wanted = [p for p in pools if p.database != OWN
              and (not check.databases or p.database in check.databases)]  # fmt: skip
    missing = [d for d in check.databases if d not in {p.database for p in pools}]
    if missing:
        raise CheckUnavailable(f"PgBouncer has no pool for database {missing[0]!r}")
    if not wanted:
        return Reading(Status.OK, "no pools yet (no client has connected)", 0.0, Unit.PERCENT)
    statuses, metrics, parts = [], [], []
    for p in sorted(wanted, key=lambda p: (-p.used, p.database, p.user)):
        key = f"{p.database}_{p.user}"
        statuses += [rising(p.used, check.warning, check.critical),
                     rising(p.maxwait, check.wait_warning, check.wait_critical)]  # fmt: skip
        metrics += [
            Metric(f"{key}_used", round(p.used, 2), Unit.PERCENT, above(check.warning),
                   above(check.critical), 0, 100),
            Metric(f"{key}_waiting", float(p.waiting), Unit.COUNT, min=0),
            Metric(f"{key}_maxwait", round(p.maxwait, 6), Unit.SECONDS, above(check.wait_warning),
                   above(check.wait_critical), 0),
        ]  # fmt: skip
        line = f"{p.database}/{p.user} {p.active} of {p.size} in use ({p.used:.0f}%)"
        if p.waiting:
            line += f", {p.waiting} waiting up to {format_latency(p.maxwait)}"
        parts.append(line)
    for row in stats:
        db = row["database"]
        if db == OWN or (check.databases and db not in check.databases):
            continue
        query, wait = float(row["avg_query_time"]) / 1e6, float(row["avg_wait_time"]) / 1e6
        metrics += [
            Metric(f"{db}_queries", float(row["avg_query_count"]), Unit.COUNT, min=0),
            Metric(f"{db}_query_time", round(query, 6), Unit.SECONDS, min=0),
            Metric(f"{db}_wait_time", round(wait, 6), Unit.SECONDS, min=0),
        ]
    worst_use = max(p.used for p in wanted)
    return Reading(worst(statuses), "; ".join(parts), round(worst_use, 2), Unit.PERCENT,
                   tuple(metrics))  # fmt: skip
