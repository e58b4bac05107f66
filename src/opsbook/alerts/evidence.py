"""What the timeline gets when an alert opens an incident: the result that fired and, for
PostgreSQL trouble, a snapshot of connections by state and the longest-running queries; for a
container, its state and last 100 log lines (the runbook's `docker-compose logs --tail=100`).

Query text is reduced to its shape by PostgreSQL's own lexer (postgres/sqltext.py): every
literal, number and comment masked, including one cut short, so data (and secrets typed into
queries, such as ``ALTER ROLE … PASSWORD '…'``) stay out of the record.
"""

from __future__ import annotations

from typing import Any

from opsbook.config.checks import PostgresCheck
from opsbook.config.container_checks import ContainerCheck
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


CONTAINER_LINES = 100  # the runbook's docker-compose logs --tail=100
CONTAINERS_SHOWN = 5


def container_snapshot(check: ContainerCheck, redact: Redactor) -> dict[str, Any]:
    """Each matching container's state and last log lines (secrets masked), or why not."""
    from opsbook.clients.docker import Docker
    from opsbook.errors import DockerError

    api = Docker(check.socket, timeout=5)
    try:
        out = []
        for listed in api.containers(check.filters())[:CONTAINERS_SHOWN]:
            found = api.inspect(listed["Id"])
            state = found["State"]
            tty = bool((found.get("Config") or {}).get("Tty"))
            lines = api.logs(listed["Id"], tail=CONTAINER_LINES, tty=tty)
            out.append(
                {
                    "name": found["Name"].lstrip("/"),
                    "status": state.get("Status"),
                    "exit_code": state.get("ExitCode"),
                    "oom_killed": bool(state.get("OOMKilled")),
                    "restarts": found.get("RestartCount", 0),
                    "health": (state.get("Health") or {}).get("Status"),
                    "started_at": state.get("StartedAt"),
                    "logs": [
                        redact(f"{'[stderr] ' if s == 'stderr' else ''}{line}") for s, line in lines
                    ],
                }
            )
    except DockerError as exc:
        return {"error": redact(str(exc))}
    return {"containers": out}
