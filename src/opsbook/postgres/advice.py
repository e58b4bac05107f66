"""What PgHero tells a DBA beside the index lists: constraints added NOT VALID and never
validated, and tables read mostly by sequential scans, with the statements that read them
(from pg_stat_statements, when it is there), as candidates for a missing index."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from opsbook.clients import postgres as pg
from opsbook.errors import DatabaseError
from opsbook.postgres.connect import Conn
from opsbook.postgres.names import qualified
from opsbook.postgres.report import Report, mask_query
from opsbook.postgres.statements import columns
from opsbook.status import Status

NOT_VALID = """
SELECT n.nspname AS schema, t.relname AS "table", c.conname AS "constraint",
       CASE c.contype WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check' ELSE c.contype::text END
         AS kind,
       pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint AS c
JOIN pg_class AS t ON t.oid = c.conrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE NOT c.convalidated
ORDER BY 1, 2, 3
"""
# PgHero's rule: a table of 10,000 rows or more whose scans used an index less than 95 % of
# the time is missing one.
SEQUENTIAL = """
SELECT s.schemaname AS schema, s.relname AS "table", s.n_live_tup AS rows,
       s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0) AS idx_scan,
       round(100.0 * coalesce(s.idx_scan, 0) / nullif(s.seq_scan + coalesce(s.idx_scan, 0), 0), 1)
         AS index_use_pct,
       pg_relation_size(s.relid) AS size_bytes
FROM pg_stat_user_tables AS s
WHERE s.n_live_tup >= %(rows)s AND s.seq_scan > 0
  AND coalesce(s.idx_scan, 0) < 0.95 * (s.seq_scan + coalesce(s.idx_scan, 0))
ORDER BY s.seq_tup_read DESC
LIMIT 10
"""
MIN_ROWS = 10_000


def not_valid(conn: Conn, report: Report) -> None:
    rows = conn.execute(NOT_VALID).fetchall()
    report.sections["not_valid_constraints"] = rows
    if rows:
        first = rows[0]
        report.find(
            Status.WARNING,
            f"{len(rows)} constraint{'s' if len(rows) != 1 else ''} NOT VALID: rows written "
            f"before {first['constraint']} was added were never checked (ALTER TABLE "
            f"{qualified(first['schema'], first['table'])} VALIDATE CONSTRAINT "
            f"{first['constraint']})",
        )


def sequential(conn: Conn, report: Report, *, min_rows: int = MIN_ROWS) -> None:
    rows = conn.execute(SEQUENTIAL, {"rows": min_rows}).fetchall()
    statements = _statements(conn)
    out = []
    for row in rows:
        found = _reading(conn, statements, str(row["table"])) if statements else []
        out.append({**row, "queries": found})
    report.sections["sequential_scans"] = out
    if out:
        top = out[0]
        report.find(
            Status.WARNING,
            f"{len(out)} table{'s' if len(out) != 1 else ''} read mostly by sequential scans "
            f"({qualified(top['schema'], top['table'])}: {top['index_use_pct'] or 0:g}% of "
            f"scans used an index, {top['seq_tup_read']} rows read): a missing index?",
        )


def _statements(conn: Conn) -> tuple[str, dict[str, str]] | None:
    ext = conn.execute(
        "SELECT extversion, extnamespace::regnamespace::text AS schema FROM pg_extension "
        "WHERE extname = 'pg_stat_statements'"
    ).fetchone()
    if ext is None:
        return None
    version = tuple(int(p) for p in str(ext["extversion"]).split("."))
    return str(ext["schema"]), columns(version)


def _reading(
    conn: Conn, statements: tuple[str, dict[str, str]], table: str
) -> list[dict[str, Any]]:
    """The costliest statements of this database that name the table (not opsbook's own)."""
    schema, cols = statements
    query = sql.SQL(
        "SELECT query, calls, {mean} AS mean_ms, {total} AS total_ms "
        "FROM {schema}.pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND query ~* %(word)s AND query NOT LIKE %(tag)s "
        "ORDER BY {total} DESC LIMIT 3"
    ).format(
        mean=sql.Identifier(cols["mean"]),
        total=sql.Identifier(cols["total"]),
        schema=sql.Identifier(schema),
    )
    # statements that read it: FROM or JOIN the table (schema-qualified or not, quoted or not)
    name = "".join(c if c.isalnum() else f"[{c}]" for c in table)
    word = rf'\m(from|join)\s+([^\s,()]+[.])?"?{name}"?(\s|,|\)|;|$)'

    try:
        with pg.translated():
            rows = conn.execute(query, {"word": word, "tag": pg.TAG + "%"}).fetchall()
    except DatabaseError:  # not loaded: the report on statements says so
        return []
    return [
        {
            "query": mask_query(r["query"])[:300],
            "calls": r["calls"],
            "mean_ms": round(float(r["mean_ms"] or 0), 3),
        }
        for r in rows
    ]
