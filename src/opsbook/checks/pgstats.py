"""pgstats: the database's own rates between two runs: deadlocks, transactions and their
rollback share, temp files, I/O time, statement and lock timeouts (from the server's log),
and the time of the top statements (pg_stat_statements), each a measurement in the history.

In ``opsbook serve`` the rates are since the check's previous run; a one-shot check samples
for ``sample``.
"""

from __future__ import annotations

from typing import Any

from opsbook.checks.counters import between
from opsbook.checks.pgsession import session
from opsbook.config.db_checks import PgStatsCheck
from opsbook.errors import CheckUnavailable, DatabaseError
from opsbook.postgres.counters import Snapshot, Statement, delta, snapshot
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.secrets import mask_dsn
from opsbook.status import worst
from opsbook.units import format_bytes, format_latency

SHOWN_STATEMENTS = 3  # in the message; every one of `statements` is a measurement


def describe(check: PgStatsCheck) -> str:
    return mask_dsn(check.dsn)


async def run(check: PgStatsCheck, phase: Phase) -> Reading:
    phase.at("reading pg_stat_database")
    before, after, seconds = await between("pgstats", phase.check, lambda: _take(check),
                                           float(check.sample), threaded=True)  # fmt: skip
    return assess(check, before, after, seconds)


def _take(check: PgStatsCheck) -> Snapshot:
    try:
        with session(check.dsn, check.timeout, statement_timeout=check.timeout) as conn:
            return snapshot(conn, check.statements, check.log, check.tables)
    except DatabaseError as exc:
        raise CheckUnavailable(f"reading statistics failed: {exc.reason}") from exc


def assess(check: PgStatsCheck, before: Snapshot, after: Snapshot, seconds: float) -> Reading:
    d = {k: delta(before.database[k], v) for k, v in after.database.items()}
    deadlocks = d["deadlocks"]
    xacts = d["xact_commit"] + d["xact_rollback"]
    rollback = 100 * d["xact_rollback"] / xacts if xacts else 0.0
    statuses = [
        rising(deadlocks, check.deadlocks_warning, check.deadlocks_critical),
        rising(rollback, check.rollback_warning, None),
    ]
    metrics = [
        Metric("deadlocks", deadlocks, Unit.COUNT, above(check.deadlocks_warning),
               above(check.deadlocks_critical), 0),
        Metric("transactions", round(xacts / seconds, 3), Unit.COUNT, min=0),
        Metric("rollback_share", round(rollback, 3), Unit.PERCENT, above(check.rollback_warning),
               None, 0, 100),
        Metric("temp_bytes", round(d["temp_bytes"] / seconds), Unit.BYTES, min=0),
        Metric("read_time", round(d["blk_read_time"] / 1000 / seconds, 6), Unit.SECONDS, min=0),
        Metric("write_time", round(d["blk_write_time"] / 1000 / seconds, 6), Unit.SECONDS, min=0),
        Metric("conflicts", d["conflicts"], Unit.COUNT, min=0),
    ]  # fmt: skip
    parts = [_deadlocks(deadlocks, before, after),
             f"{xacts / seconds:.1f} transactions/s ({rollback:.1f}% rolled back)"]  # fmt: skip
    if d["temp_bytes"]:
        parts.append(f"temp files {format_bytes(d['temp_bytes'] / seconds)}/s")
    details: dict[str, Any] = {"seconds": round(seconds, 3)}
    if after.log is not None and before.log is not None:
        timeouts = {k: after.log[k] - before.log.get(k, 0) for k in after.log}
        total = sum(timeouts.values())
        statuses.append(rising(total, check.timeouts_warning, check.timeouts_critical))
        metrics += [Metric(k, float(v), Unit.COUNT, min=0) for k, v in timeouts.items()]
        if total:
            parts.append(", ".join(f"{v} {k.replace('_', ' ')[:-1]}" + ("s" if v != 1 else "")
                                   for k, v in timeouts.items() if v))  # fmt: skip
    elif after.log_problem:
        parts.append(f"timeouts not counted ({after.log_problem})")
    metrics += [Metric(f"db_{name}_bytes", float(size), Unit.BYTES, min=0)
                for name, size in sorted(after.sizes.items())]  # fmt: skip
    metrics += [Metric(f"table_{name}_bytes", float(size), Unit.BYTES, min=0)
                for name, size in after.tables.items()]  # fmt: skip
    if after.sizes:
        total = sum(after.sizes.values())
        grown = total - sum(before.sizes.get(n, 0) for n in after.sizes)
        parts.append(f"databases {format_bytes(total)}"
                     + (f" ({'+' if grown >= 0 else '-'}{format_bytes(abs(grown))})"
                        if grown else ""))  # fmt: skip
    top = _top(check, before, after)
    for qid, calls, mean, _ in top:
        key = f"query_{qid & 0xFFFFFFFFFFFFFFFF:016x}"
        metrics.append(Metric(f"{key}_mean", round(mean, 6), Unit.SECONDS, min=0))
        metrics.append(Metric(f"{key}_calls", round(calls / seconds, 3), Unit.COUNT, min=0))
    if top:
        parts.append("top: " + "; ".join(
            f"{format_latency(mean)} × {calls} {query[:60]}"
            for _, calls, mean, query in top[:SHOWN_STATEMENTS]))  # fmt: skip
        details["statements"] = [
            {"queryid": qid, "calls": calls, "mean_seconds": mean, "query": query}
            for qid, calls, mean, query in top
        ]
    elif after.statements is None:
        parts.append("statement times need pg_stat_statements")
    message = "; ".join(parts) + f" over {seconds:.1f} s"
    return Reading(worst(statuses), message, deadlocks, Unit.COUNT, tuple(metrics), details)


def _deadlocks(n: float, before: Snapshot, after: Snapshot) -> str:
    if not n:
        return "no deadlocks"
    where = [f"{db} {after.per_database[db] - before.per_database.get(db, 0)}"
             for db in sorted(after.per_database)
             if after.per_database[db] > before.per_database.get(db, 0)]  # fmt: skip
    return f"{n:g} deadlock{'s' if n != 1 else ''}" + (f" ({', '.join(where)})" if where else "")


def _top(
    check: PgStatsCheck, before: Snapshot, after: Snapshot
) -> list[tuple[int, int, float, str]]:
    """(queryid, calls, mean seconds, query) of the statements that took most time between
    the two snapshots."""
    if not after.statements or before.statements is None:
        return []
    moved: list[tuple[float, int, int, float, str]] = []
    for qid, now in after.statements.items():
        then = before.statements.get(qid, Statement(0, 0.0, now.query))
        calls = int(delta(then.calls, now.calls))
        spent = delta(then.total_ms, now.total_ms)
        if calls > 0:
            moved.append((spent, qid, calls, spent / calls / 1000, now.query))
    moved.sort(reverse=True)
    return [(qid, calls, mean, query) for _, qid, calls, mean, query in moved[: check.statements]]
