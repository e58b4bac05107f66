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
from opsbook.errors import DatabaseError, UsageError
from opsbook.postgres.indexes import INVALID
from opsbook.progress import OnStep


@dataclass(frozen=True)
class Step:
    kind: str  # vacuum, reindex
    object: str  # schema.name, or the database
    statement: sql.Composable
    why: str = ""

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


def _relation(conn: Conn, name: str, kinds: str) -> tuple[str, str]:
    """Resolve a user-given name to (schema, name), as the server sees it; never string-built."""
    row = conn.execute(
        "SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind "
        "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE c.oid = to_regclass(%s)",
        (name,),
    ).fetchone()
    if row is None or row["kind"] not in kinds:
        what = "table" if "r" in kinds else "index"
        raise UsageError(f"no {what} {name!r} in this database")
    return str(row["schema"]), str(row["name"])


def vacuum_plan(conn: Conn, tables: Sequence[str], *, analyze: bool, full: bool) -> list[Step]:
    options = [sql.SQL("ANALYZE")] if analyze else []
    if full:
        options.append(sql.SQL("FULL"))
    head = (
        sql.SQL("VACUUM ({}) ").format(sql.SQL(", ").join(options))
        if options
        else sql.SQL("VACUUM ")
    )
    if not tables:
        database = conn.info.dbname
        return [
            Step(
                "vacuum",
                f"database {database}",
                sql.SQL("VACUUM")
                if not options
                else sql.SQL("VACUUM ({})").format(sql.SQL(", ").join(options)),
            )
        ]
    steps = []
    for name in tables:
        schema, table = _relation(conn, name, "rm")
        _may_maintain(conn, schema, table)
        steps.append(Step("vacuum", f"{schema}.{table}", head + sql.Identifier(schema, table)))
    return steps


def _may_maintain(conn: Conn, schema: str, name: str) -> None:
    """VACUUM skips, with only a warning, tables the role may not maintain: say so first."""
    row = conn.execute(
        "SELECT pg_has_role(c.relowner, 'USAGE') "
        "OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
        "OR EXISTS (SELECT 1 FROM pg_roles AS r WHERE r.rolname = 'pg_maintain' "
        "           AND pg_has_role(r.oid, 'USAGE')) AS allowed "
        "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    ).fetchone()
    if not row or not row["allowed"]:
        raise UsageError(
            f"{schema}.{name}: maintenance needs its owner, a superuser, or pg_maintain "
            "(PostgreSQL 17); pg_monitor is enough for the diagnostics only"
        )


def reindex_plan(
    conn: Conn,
    *,
    indexes: Sequence[str] = (),
    bloated_over: float | None = None,
    invalid: bool = False,
    database: bool = False,
    system: bool = False,
) -> list[Step]:
    steps: list[Step] = []
    chosen: dict[tuple[str, str], str] = {}
    for name in indexes:
        chosen[_relation(conn, name, "iI")] = "asked for"
    if invalid:
        for row in conn.execute(INVALID).fetchall():
            chosen[(str(row["schema"]), str(row["index"]))] = "invalid"
    if bloated_over is not None:
        from opsbook.postgres.bloat import bloat

        report = bloat(conn, "", exact=True, limit=1000)
        for entry in report.sections["indexes"]:
            pct = entry.get("exact_bloat_pct", entry.get("estimated_bloat_pct"))
            if pct is not None and pct >= bloated_over:
                chosen[(entry["schema"], entry["index"])] = f"{pct:.0f}% bloated"
    for (schema, index), why in chosen.items():
        steps.append(
            Step(
                "reindex",
                f"{schema}.{index}",
                sql.SQL("REINDEX INDEX CONCURRENTLY {}").format(sql.Identifier(schema, index)),
                why,
            )
        )
    if database:
        steps.append(
            Step(
                "reindex",
                f"database {conn.info.dbname}",
                sql.SQL("REINDEX DATABASE CONCURRENTLY {}").format(
                    sql.Identifier(conn.info.dbname)
                ),
                "asked for (--database)",
            )
        )
    if system:
        steps.append(
            Step(
                "reindex",
                f"system catalogs of {conn.info.dbname}",
                sql.SQL("REINDEX SYSTEM {}").format(sql.Identifier(conn.info.dbname)),
                "asked for (--system)",
            )
        )
    return steps


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


def _drop_leftovers(conn: Conn, step: Step) -> str:
    """A failed REINDEX CONCURRENTLY leaves an invalid copy (name_ccnew); drop it again."""
    schema, _, index = step.object.partition(".")
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
