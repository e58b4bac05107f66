"""`opsbook db activity`: who is connected, doing what, waiting on whom."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsbook.postgres.connect import Conn, privileges
from opsbook.postgres.limits import DEFAULT, Limits
from opsbook.postgres.report import Report, mask_query
from opsbook.status import Status
from opsbook.units import format_duration

SETTINGS = """
SELECT current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int
         + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0)
         AS reserved,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int
         AS client_connections
"""
BY_STATE = """
SELECT coalesce(state, 'unknown') AS state, count(*)::int AS connections
FROM pg_stat_activity WHERE backend_type = 'client backend'
GROUP BY 1 ORDER BY 2 DESC, 1
"""
BY_CLIENT = """
SELECT coalesce(nullif(application_name, ''), '(none)') AS application,
       coalesce(usename::text, '?') AS "user", coalesce(datname::text, '?') AS database,
       count(*)::int AS connections,
       count(*) FILTER (WHERE state = 'active')::int AS active
FROM pg_stat_activity WHERE backend_type = 'client backend'
GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1
"""
# An aborted transaction ("idle in transaction (aborted)") can have no xact_start: its age is
# then counted from its last state change, never a NULL that breaks the report.
IDLE_IN_TRANSACTION = """
SELECT pid, usename AS "user", application_name AS application, datname AS database, state,
       now() - coalesce(xact_start, state_change) AS transaction_age,
       now() - state_change AS idle_for, query
FROM pg_stat_activity
WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')
ORDER BY coalesce(xact_start, state_change)
"""
LONG_RUNNING = """
SELECT pid, usename AS "user", datname AS database, now() - query_start AS running_for,
       wait_event_type, wait_event, query
FROM pg_stat_activity
WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND now() - query_start > make_interval(secs => %s)
ORDER BY query_start
"""
BLOCKED = """
SELECT blocked.pid AS blocked_pid, blocked.usename AS blocked_user,
       now() - blocked.query_start AS waiting_for, blocked.wait_event_type AS waiting_on,
       blocked.query AS blocked_query,
       blocker.pid AS blocking_pid, blocker.usename AS blocking_user,
       blocker.state AS blocking_state, now() - blocker.xact_start AS blocking_transaction_age,
       blocker.query AS blocking_query
FROM pg_stat_activity AS blocked
CROSS JOIN LATERAL unnest(pg_blocking_pids(blocked.pid)) AS b(pid)
JOIN pg_stat_activity AS blocker ON blocker.pid = b.pid
ORDER BY blocked.query_start
"""


def activity(conn: Conn, target: str, *, limits: Limits = DEFAULT) -> Report:
    report = Report("activity", target)
    settings = conn.execute(SETTINGS).fetchone()
    assert settings is not None
    usable = max(1, int(settings["max_connections"]) - int(settings["reserved"]))
    used = int(settings["client_connections"])
    pct = round(used * 100 / usable, 1)
    report.facts.update(
        max_connections=settings["max_connections"],
        reserved=settings["reserved"],
        usable=usable,
        client_connections=used,
        utilisation_pct=pct,
    )
    report.sections["by_state"] = conn.execute(BY_STATE).fetchall()
    report.sections["by_client"] = conn.execute(BY_CLIENT).fetchall()
    idle = [_masked(r) for r in conn.execute(IDLE_IN_TRANSACTION).fetchall()]
    listed = limits.query_time.least or 0.0
    running = [_masked(r) for r in conn.execute(LONG_RUNNING, (listed,)).fetchall()]
    blocked = [
        {
            **r,
            "blocked_query": mask_query(r["blocked_query"]),
            "blocking_query": mask_query(r["blocking_query"]),
        }
        for r in conn.execute(BLOCKED).fetchall()
    ]
    report.sections.update(idle_in_transaction=idle, long_running=running, blocked=blocked)
    status = Status.CRITICAL if pct >= 95 else Status.WARNING if pct >= 80 else Status.OK
    report.find(status, f"{used}/{usable} connections ({pct:.1f}%)")
    if idle:
        longest = max(idle, key=lambda r: _seconds(r["idle_for"]))
        idle_status = limits.idle_in_transaction.status(_seconds(longest["idle_for"]))
        aborted = sum(1 for r in idle if r["state"].endswith("(aborted)"))
        report.find(
            idle_status,
            f"{len(idle)} idle in transaction"
            + (f" ({aborted} aborted)" if aborted else "")
            + f", the longest for {format_duration(_seconds(longest['idle_for']))} "
            f"(pid {longest['pid']}, {longest['user']})",
        )
    if running:
        slowest = max(_seconds(r["running_for"]) for r in running)
        report.find(
            limits.query_time.status(slowest),
            f"{len(running)} queries running over {format_duration(listed)}, "
            f"the longest for {format_duration(slowest)}",
        )
    if blocked:
        report.find(
            Status.WARNING,
            f"{len(blocked)} blocked "
            f"(by pid {', '.join(str(b['blocking_pid']) for b in blocked[:3])})",
        )
    if not privileges(conn).all_stats:
        report.notes.append(
            "This role sees only its own sessions' queries: grant it pg_monitor "
            "(or pg_read_all_stats) to see the others'."
        )
    return report


def _seconds(interval: timedelta | None) -> float:
    return interval.total_seconds() if interval is not None else 0.0


def _masked(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "query": mask_query(row.get("query"))}
