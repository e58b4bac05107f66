"""VACUUM and REINDEX without hurting a live database.

The runbook ran REINDEX DATABASE, which locks every table in turn. Here reindexing is
REINDEX INDEX CONCURRENTLY, one index at a time, under lock_timeout and statement_timeout
guards, after showing the plan; a CONCURRENTLY build that fails leaves an invalid "_ccnew"
index behind, which is dropped again. Database-wide and system-catalog reindexes exist only
behind explicit flags. Every name is quoted by psycopg's sql composition.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import sql

from opsbook.clients import postgres as pg
from opsbook.clients.postgres import Conn
from opsbook.errors import DatabaseError
from opsbook.postgres.names import qualified
from opsbook.postgres.report import mask_query
from opsbook.progress import OnStep
from opsbook.units import format_duration


@dataclass(frozen=True)
class Step:
    kind: str  # vacuum, reindex
    object: str  # schema.name, or the database
    statement: sql.Composable
    why: str = ""
    skip: str = ""  # why it will not run (no privilege): recorded as a failed step, never "ok"
    relation: tuple[str, str] | None = None  # (schema, name) of the index or table

    def text(self, conn: Conn) -> str:
        return self.statement.as_string(conn)


@dataclass(frozen=True)
class Outcome:
    step: Step
    statement: str
    ok: bool
    started_at: datetime
    finished_at: datetime
    detail: str

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def run(
    conn: Conn,
    steps: Sequence[Step],
    *,
    lock_timeout_s: float,
    statement_timeout_s: float,
    progress: OnStep | None = None,
    watch: Conn | None = None,
) -> list[Outcome]:
    conn.execute(
        sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout_s * 1000)}ms"))
    )
    conn.execute(
        sql.SQL("SET statement_timeout = {}").format(
            sql.Literal(f"{int(statement_timeout_s * 1000)}ms")
        )
    )
    outcomes = []
    for step in steps:
        text = step.text(conn)
        if step.skip:
            now = datetime.now(UTC)
            outcomes.append(Outcome(step, text, False, now, now, f"skipped: {step.skip}"))
            if progress:
                progress(f"{step.kind} {step.object}: SKIPPED: {step.skip}")
            continue
        if progress:
            progress(f"{step.kind} {step.object}: started")
        started = datetime.now(UTC)
        stop = threading.Event()
        watcher = None
        if progress and watch is not None:
            watcher = threading.Thread(
                target=_watch,
                args=(watch, conn.info.backend_pid, progress, stop, step),
                daemon=True,
            )
            watcher.start()
        try:
            with pg.translated():
                conn.execute(text)
            ok, detail = True, "done"
        except DatabaseError as exc:
            ok, detail = False, exc.reason
            if exc.detail:  # "Key (name)=(x) is duplicated.": the part that says what to fix
                detail += f" ({exc.detail.rstrip('.')})"
            if exc.sqlstate == LOCK_NOT_AVAILABLE and step.relation is not None:
                detail += _who_holds(watch or conn, step.relation, conn.info.backend_pid)
            if step.kind == "reindex" and "CONCURRENTLY" in text:
                detail += _drop_leftovers(conn, step)
        finally:
            stop.set()
            if watcher is not None:
                watcher.join(2)
        finished = datetime.now(UTC)
        outcome = Outcome(step, text, ok, started, finished, detail)
        outcomes.append(outcome)
        if progress:
            state = "done" if ok else f"FAILED: {detail}"
            progress(f"{step.kind} {step.object}: {state} in {outcome.seconds:.1f} s")
    return outcomes


LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired
HOLDERS = """
SELECT DISTINCT a.pid, a.usename AS "user", a.application_name AS application, a.state,
       now() - coalesce(a.xact_start, a.state_change) AS transaction_age, a.query
FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.granted AND l.pid <> %(me)s AND l.pid <> pg_backend_pid()
  AND l.relation IN (SELECT %(rel)s::regclass::oid
                     UNION SELECT indrelid FROM pg_index WHERE indexrelid = %(rel)s::regclass)
ORDER BY 1
"""


def _who_holds(conn: Conn, relation: tuple[str, str], me: int) -> str:
    """After a lock_timeout: the sessions holding locks on the table, as a DBA would look."""
    try:
        with pg.translated():
            rows = conn.execute(HOLDERS, {"rel": qualified(*relation), "me": me}).fetchall()
    except DatabaseError:
        return ""
    if not rows:
        return ""
    said = "; ".join(
        f"pid {r['pid']} ({r['user']}, {r['application'] or 'no application'}, {r['state']} "
        f"for {format_duration(_seconds(r['transaction_age']))}"
        f": {mask_query(r['query'])[:120]})"
        for r in rows[:3]
    )
    return f"; waited on {said}"


def _seconds(interval: Any) -> float:
    return float(interval.total_seconds()) if interval is not None else 0.0


def _drop_leftovers(conn: Conn, step: Step) -> str:
    """A failed REINDEX CONCURRENTLY leaves an invalid copy (name_ccnew); drop it again."""
    if step.relation is None:
        return ""
    schema, index = step.relation
    rows = conn.execute(
        "SELECT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE NOT i.indisvalid AND n.nspname = %s AND c.relname LIKE %s",
        (schema, index + "_ccnew%"),
    ).fetchall()
    dropped = []
    for row in rows:
        try:
            with pg.translated():
                conn.execute(
                    sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
                        sql.Identifier(schema, str(row["relname"]))
                    )
                )
            dropped.append(str(row["relname"]))
        except DatabaseError:
            pass
    return f" (left-over {', '.join(dropped)} dropped)" if dropped else ""


def _watch(watch: Conn, pid: int, progress: OnStep, stop: threading.Event, step: Step) -> None:
    """Poll pg_stat_progress_vacuum / _create_index for the running statement."""
    view = "pg_stat_progress_vacuum" if step.kind == "vacuum" else "pg_stat_progress_create_index"
    blocks = (
        ("heap_blks_scanned", "heap_blks_total")
        if step.kind == "vacuum"
        else ("blocks_done", "blocks_total")
    )
    last = ""
    while not stop.wait(1.0):
        try:
            with pg.translated():
                row: dict[str, Any] | None = watch.execute(
                    sql.SQL(
                        "SELECT relid::regclass::text AS rel, phase, {} AS done, {} AS total "
                        "FROM {} WHERE pid = %s"
                    ).format(
                        sql.Identifier(blocks[0]), sql.Identifier(blocks[1]), sql.Identifier(view)
                    ),
                    (pid,),
                ).fetchone()
        except DatabaseError:
            return
        if not row:
            continue
        pct = f" {row['done'] * 100 / row['total']:.0f}%" if row["total"] else ""
        line = f"{step.kind} {row['rel']}: {row['phase']}{pct}"
        if line != last:
            progress(line)
            last = line
