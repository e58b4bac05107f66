"""What the timeline gets when an alert opens an incident: the result that fired and, for
PostgreSQL trouble, a snapshot of connections by state and the longest-running queries.

Query text is reduced to its shape by PostgreSQL's own lexer (postgres/sqltext.py): every
literal, number and comment masked, including one cut short, so data (and secrets typed into
queries, such as ``ALTER ROLE … PASSWORD '…'``) stay out of the record.
"""

from __future__ import annotations

from typing import Any

from opsbook.config.checks import PostgresCheck
from opsbook.results import Result
from opsbook.secrets import Redactor

QUERY_CHARS = 200
LONGEST = 5

_BY_STATE = """
SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n
FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 2 DESC
"""
_LONGEST = """
SELECT pid, usename, application_name, state,
       extract(epoch FROM now() - query_start)::float AS running_s,
       wait_event_type, left(query, %s) AS query
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND state <> 'idle' AND pid <> pg_backend_pid()
ORDER BY query_start NULLS LAST LIMIT %s
"""


def result_evidence(result: Result) -> dict[str, Any]:
    return {
        "check": result.name,
        "type": result.kind.value,
        "target": result.target,
        "status": result.status.name,
        "value": result.value,
        "unit": result.unit.value,
        "message": result.message,
        "at": result.started_at.isoformat(),
    }


def mask_query(text: str, redact: Redactor) -> str:
    from opsbook.postgres.sqltext import shape

    return redact(shape(text, QUERY_CHARS))


def postgres_snapshot(check: PostgresCheck, redact: Redactor) -> dict[str, Any]:
    """Connections by state and the longest-running queries, or why they could not be read."""
    from opsbook.clients import postgres as pg
    from opsbook.errors import DatabaseError

    try:
        with pg.session(
            check.dsn, timeout=3, statement_timeout=3, application="opsbook-evidence"
        ) as conn:
            by_state = {r["state"]: r["n"] for r in conn.execute(_BY_STATE)}
            longest = [
                {
                    **r,
                    "query": mask_query(r["query"] or "", redact),
                    "running_s": round(r["running_s"] or 0.0, 1),
                }
                for r in conn.execute(_LONGEST, (QUERY_CHARS * 2, LONGEST))
            ]
    except DatabaseError as exc:
        return {"unavailable": redact(exc.reason)}
    return {"connections_by_state": by_state, "longest_queries": longest}


def snapshot_summary(snapshot: dict[str, Any]) -> str:
    if "unavailable" in snapshot:
        return f"PostgreSQL snapshot unavailable: {snapshot['unavailable']}"
    states = ", ".join(f"{n} {state}" for state, n in snapshot["connections_by_state"].items())
    text = f"PostgreSQL connections: {states or 'none'}"
    if snapshot["longest_queries"]:
        q = snapshot["longest_queries"][0]
        text += f"; longest running {q['running_s']:.0f} s ({q['state']}): {q['query']}"
    return text
