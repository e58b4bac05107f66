"""A snapshot of PostgreSQL's cumulative counters: pg_stat_database summed over the
databases, pg_stat_statements per statement, and timeouts counted from the server's log.

Two snapshots make rates (``delta``); a counter that went down was reset
(pg_stat_reset, a restart), so its new value is the change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATABASE_COUNTERS = ("deadlocks", "xact_commit", "xact_rollback", "temp_bytes",
                     "blk_read_time", "blk_write_time", "conflicts")  # fmt: skip
# what the server writes (lc_messages C/English) when it cancels a statement
LOG_EVENTS = {
    "statement_timeouts": b"canceling statement due to statement timeout",
    "lock_timeouts": b"canceling statement due to lock timeout",
    "idle_timeouts": b"terminating connection due to idle-in-transaction timeout",
}
LOG_CHUNK = 8 << 20  # bytes read per run at most: a log flood does not stall the check


@dataclass(frozen=True)
class Statement:
    calls: int
    total_ms: float
    query: str


@dataclass(frozen=True)
class Snapshot:
    database: dict[str, float]
    statements: dict[int, Statement] | None  # None: pg_stat_statements not installed
    log: dict[str, int] | None = None  # None: no log configured or readable
    log_problem: str = ""
    per_database: dict[str, int] = field(default_factory=dict)  # deadlocks by database
    sizes: dict[str, int] = field(default_factory=dict)  # bytes by database
    tables: dict[str, int] = field(default_factory=dict)  # bytes of the largest tables here


def snapshot(conn: Any, top: int, log: Path | None, tables: int = 0) -> Snapshot:
    rows = conn.execute(
        "SELECT datname, deadlocks, xact_commit, xact_rollback, temp_bytes, blk_read_time, "
        "blk_write_time, conflicts FROM pg_stat_database WHERE datname IS NOT NULL"
    ).fetchall()
    sums = {c: float(sum(r[c] or 0 for r in rows)) for c in DATABASE_COUNTERS}
    per_db = {r["datname"]: int(r["deadlocks"] or 0) for r in rows}
    statements = _statements(conn, top) if top else {}
    counts, problem = (None, "") if log is None else _log_counts(log)
    sizes = {
        r["datname"]: int(r["size"])
        for r in conn.execute(
            "SELECT datname, pg_database_size(oid) AS size FROM pg_database "
            "WHERE datallowconn AND has_database_privilege(oid, 'CONNECT')"
        )
    }
    return Snapshot(sums, statements, counts, problem, per_db, sizes, _tables(conn, tables))


def _tables(conn: Any, top: int) -> dict[str, int]:
    """The connected database's largest tables (indexes and TOAST included). Sized from
    their files, not the planner's estimate, which a table filled since its last ANALYZE
    does not have yet."""
    if not top:
        return {}
    rows = conn.execute(
        "SELECT format('%%s.%%s', n.nspname, c.relname) AS name, "
        "pg_total_relation_size(c.oid) AS size FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'm') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%%' ORDER BY size DESC, c.oid LIMIT %s",
        (top,),
    )
    return {r["name"]: int(r["size"]) for r in rows}


def _statements(conn: Any, top: int) -> dict[int, Statement] | None:
    installed = conn.execute(
        "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
    ).fetchone()
    if installed is None:
        return None
    # the most time-consuming statements since the reset, and a margin so a statement that
    # enters the top between two runs has a previous reading
    rows = conn.execute(
        "SELECT queryid, sum(calls)::bigint AS calls, sum(total_exec_time) AS total, "
        "min(left(regexp_replace(query, '\\s+', ' ', 'g'), 200)) AS query "
        "FROM pg_stat_statements WHERE queryid IS NOT NULL "
        "AND query NOT LIKE '/* opsbook */%%' GROUP BY queryid ORDER BY total DESC LIMIT %s",
        (max(top * 5, 50),),
    )
    return {int(r["queryid"]): Statement(int(r["calls"]), float(r["total"]), r["query"])
            for r in rows}  # fmt: skip


# path -> (inode, offset, cumulative counts): a log read from where the last run stopped
_CURSORS: dict[Path, tuple[int, int, dict[str, int]]] = {}


def _log_counts(path: Path) -> tuple[dict[str, int] | None, str]:
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            inode, offset, counts = _CURSORS.get(path, (st.st_ino, st.st_size, {}))
            if inode != st.st_ino or st.st_size < offset:  # rotated or truncated
                offset = 0
            f.seek(offset)
            chunk = f.read(LOG_CHUNK)
    except OSError as exc:
        return None, f"log {path}: {exc.strerror or exc}"
    # count whole lines only; a partial last line waits for the next run
    end = chunk.rfind(b"\n") + 1
    counts = dict(counts)
    for name, needle in LOG_EVENTS.items():
        counts[name] = counts.get(name, 0) + chunk.count(needle, 0, end)
    _CURSORS[path] = (st.st_ino, offset + end, counts)
    return counts, ""


def delta(before: float, after: float) -> float:
    """The increase of a counter, across a reset."""
    return after - before if after >= before else after


def forget() -> None:
    _CURSORS.clear()
