"""`opsbook db bloat`: dead tuples, estimated bloat, and whether autovacuum is due.

Estimates come from the statistics (pg_class sizes, pg_stats widths), like the usual bloat
queries, and are only that. For B-tree indexes on PostgreSQL 13+, deduplication makes
low-cardinality indexes much smaller than any width-based estimate assumes, so their
estimates are badly off: `--exact` measures with pgstattuple where it is installed.
"""

from __future__ import annotations

import math
from typing import Any

from opsbook.postgres.connect import Conn
from opsbook.postgres.report import Report
from opsbook.status import Status

TABLES = """
SELECT c.oid, n.nspname AS schema, c.relname AS "table", c.relpages,
       c.reltuples::bigint AS reltuples,
       coalesce((regexp_match(array_to_string(c.reloptions, ','),
                              'fillfactor=(\\d+)'))[1]::int, 100) AS fillfactor,
       (regexp_match(array_to_string(c.reloptions, ','),
                     'autovacuum_vacuum_threshold=(\\d+)'))[1]::int AS av_threshold,
       (regexp_match(array_to_string(c.reloptions, ','),
                     'autovacuum_vacuum_scale_factor=([0-9.]+)'))[1]::float AS av_scale,
       s.n_live_tup, s.n_dead_tup, s.last_vacuum, s.last_autovacuum, s.last_analyze,
       s.last_autoanalyze,
       (SELECT sum((1 - coalesce(st.null_frac, 0)) * coalesce(st.avg_width, 0))
        FROM pg_stats AS st WHERE st.schemaname = n.nspname AND st.tablename = c.relname)
         AS row_width,
       (SELECT count(*) FROM pg_attribute AS a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS ncols,
       pg_total_relation_size(c.oid) AS total_bytes
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_stat_user_tables AS s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'm')
ORDER BY s.n_dead_tup DESC, c.relpages DESC
LIMIT %s
"""
INDEXES = """
SELECT ic.oid, n.nspname AS schema, t.relname AS "table", ic.relname AS index, ic.relpages,
       ic.reltuples::bigint AS reltuples,
       coalesce((regexp_match(array_to_string(ic.reloptions, ','),
                              'fillfactor=(\\d+)'))[1]::int, 90) AS fillfactor,
       (SELECT sum(coalesce(st.avg_width, 8)) FROM pg_attribute AS a
        LEFT JOIN pg_stats AS st ON st.schemaname = n.nspname AND st.tablename = t.relname
                                 AND st.attname = a.attname
        WHERE a.attrelid = t.oid AND a.attnum = ANY (i.indkey)) AS key_width
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_class AS t ON t.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
JOIN pg_am AS am ON am.oid = ic.relam AND am.amname = 'btree'
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND i.indisvalid
ORDER BY ic.relpages DESC
LIMIT %s
"""
SETTINGS = """
SELECT current_setting('block_size')::int AS block_size,
       current_setting('autovacuum_vacuum_threshold')::int AS av_threshold,
       current_setting('autovacuum_vacuum_scale_factor')::float AS av_scale,
       current_setting('server_version_num')::int AS version
"""


def _align(n: float, to: int = 8) -> float:
    return math.ceil(n / to) * to


def table_estimate(row: dict[str, Any], block: int) -> int | None:
    """Bytes beyond what the live rows need, or None without statistics."""
    if row["row_width"] is None or not row["reltuples"] or row["reltuples"] < 0:
        return None
    header = _align(23 + math.ceil(int(row["ncols"]) / 8))
    tuple_size = _align(header + float(row["row_width"])) + 4  # + line pointer
    per_page = max(1, math.floor((block - 24) * row["fillfactor"] / 100 / tuple_size))
    expected = math.ceil(row["reltuples"] / per_page)
    return int(max(0, int(row["relpages"]) - expected) * block)


def index_estimate(row: dict[str, Any], block: int) -> int | None:
    if not row["reltuples"] or row["reltuples"] < 0 or row["key_width"] is None:
        return None
    tuple_size = _align(8 + float(row["key_width"])) + 4
    per_page = max(1, math.floor((block - 24 - 16) * row["fillfactor"] / 100 / tuple_size))
    expected = math.ceil(row["reltuples"] / per_page) + 1  # + the metapage
    return int(max(0, int(row["relpages"]) - expected) * block)


def bloat(conn: Conn, target: str, *, exact: bool = False, limit: int = 50) -> Report:
    report = Report("bloat", target)
    settings = conn.execute(SETTINGS).fetchone()
    assert settings is not None
    block = int(settings["block_size"])
    exact_ok = exact and _has_pgstattuple(conn, report)
    tables = []
    for row in conn.execute(TABLES, (limit,)).fetchall():
        live, dead = int(row["n_live_tup"] or 0), int(row["n_dead_tup"] or 0)
        threshold = (
            row["av_threshold"] if row["av_threshold"] is not None else settings["av_threshold"]
        )
        scale = row["av_scale"] if row["av_scale"] is not None else settings["av_scale"]
        due_at = threshold + scale * max(int(row["reltuples"] or 0), 0)
        estimate = table_estimate(row, block)
        entry: dict[str, Any] = {
            "schema": row["schema"],
            "table": row["table"],
            "live_tuples": live,
            "dead_tuples": dead,
            "dead_pct": round(dead * 100 / (live + dead), 1) if live + dead else 0.0,
            "estimated_bloat_bytes": estimate,
            "estimated_bloat_pct": round(estimate * 100 / (int(row["relpages"]) * block), 1)
            if estimate is not None and row["relpages"]
            else None,
            "last_vacuum": row["last_vacuum"],
            "last_autovacuum": row["last_autovacuum"],
            "last_analyze": row["last_analyze"],
            "last_autoanalyze": row["last_autoanalyze"],
            "autovacuum_due": dead > due_at,
            "autovacuum_threshold": int(due_at),
        }
        if exact_ok:
            measured = conn.execute(
                "SELECT dead_tuple_percent, free_percent FROM pgstattuple(%s)", (row["oid"],)
            ).fetchone()
            assert measured is not None
            entry["exact_dead_pct"] = float(measured["dead_tuple_percent"])
            entry["exact_free_pct"] = float(measured["free_percent"])
        tables.append(entry)
    indexes = []
    for row in conn.execute(INDEXES, (limit,)).fetchall():
        estimate = index_estimate(row, block)
        entry = {
            "schema": row["schema"],
            "table": row["table"],
            "index": row["index"],
            "size_bytes": int(row["relpages"]) * block,
            "estimated_bloat_bytes": estimate,
            "estimated_bloat_pct": round(estimate * 100 / (int(row["relpages"]) * block), 1)
            if estimate is not None and row["relpages"]
            else None,
        }
        if exact_ok:
            measured = conn.execute(
                "SELECT avg_leaf_density FROM pgstatindex(%s)", (row["oid"],)
            ).fetchone()
            assert measured is not None
            density = float(measured["avg_leaf_density"])
            entry["exact_leaf_density_pct"] = density
            empty = math.isnan(density)  # an empty index has no leaf density
            entry["exact_bloat_pct"] = (
                None if empty else round(max(0.0, 100 - density * 100 / row["fillfactor"]), 1)
            )
        indexes.append(entry)
    report.sections.update(tables=tables, indexes=indexes)
    if int(settings["version"]) >= 130000:
        report.notes.append(
            "B-tree estimates ignore deduplication (PostgreSQL 13+): for "
            "low-cardinality indexes they are badly off; use --exact "
            "(pgstattuple) before acting on them."
        )
    due = [t for t in tables if t["autovacuum_due"]]
    heavy = [t for t in tables if t["dead_pct"] >= 20 and t["dead_tuples"] >= 10_000]
    if heavy:
        worst = heavy[0]
        report.find(
            Status.WARNING,
            f"{len(heavy)} table{'s' if len(heavy) != 1 else ''} over 20% "
            f"dead tuples ({worst['schema']}.{worst['table']}: {worst['dead_pct']}%)",
        )
    if due:
        report.find(Status.OK, f"autovacuum due on {len(due)} table{'s' if len(due) != 1 else ''}")
    if not report.findings:
        report.find(Status.OK, "no table over 20% dead tuples")
    return report


def _has_pgstattuple(conn: Conn, report: Report) -> bool:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple'").fetchone():
        report.notes.append(
            "--exact: measured with pgstattuple (reads every page; needs "
            "pg_stat_scan_tables or superuser)."
        )
        return True
    report.notes.append(
        "--exact needs the pgstattuple extension: CREATE EXTENSION pgstattuple; "
        "showing estimates only."
    )
    return False
