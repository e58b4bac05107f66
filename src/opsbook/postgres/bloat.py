"""`opsbook db bloat`: dead tuples, wasted space in tables and indexes, whether autovacuum will
come.

Estimates come from the statistics (pg_stats widths against the relation's real size from
pg_relation_size, never the stale relpages), like check_postgres's and PgHero's, and are only
that; a role that cannot read a table's pg_stats rows (pg_monitor alone) gets no estimate and
the reason, never a guess. `--exact` measures with pgstattuple (tables: free and dead space)
and pgstatindex (B-tree indexes: leaf density, what a rebuild would give back). A table or
index is judged bloated by share *and* wasted bytes (limits.bloat_share, bloat_wasted): 90 %
of a 16 kB index is nothing to act on.
"""

from __future__ import annotations

import math
from typing import Any

from opsbook.postgres.connect import Conn
from opsbook.postgres.limits import DEFAULT, Limits
from opsbook.postgres.names import qualified
from opsbook.postgres.report import Report
from opsbook.status import Status, worst
from opsbook.units import format_bytes, format_duration

TABLES = """
SELECT c.oid, n.nspname AS schema, c.relname AS "table",
       c.reltuples::bigint AS reltuples, pg_relation_size(c.oid) AS size_bytes,
       coalesce((regexp_match(array_to_string(c.reloptions, ','),
                              'fillfactor=(\\d+)'))[1]::int, 100) AS fillfactor,
       (regexp_match(array_to_string(c.reloptions, ','),
                     'autovacuum_vacuum_threshold=(\\d+)'))[1]::int AS av_threshold,
       (regexp_match(array_to_string(c.reloptions, ','),
                     'autovacuum_vacuum_scale_factor=([0-9.]+)'))[1]::float AS av_scale,
       coalesce((regexp_match(array_to_string(c.reloptions, ','),
                              'autovacuum_enabled=(\\w+)'))[1]::bool, true) AS av_enabled,
       s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, s.last_vacuum, s.last_autovacuum,
       s.last_analyze, s.last_autoanalyze,
       now() - greatest(s.last_vacuum, s.last_autovacuum) AS vacuumed_ago,
       now() - greatest(s.last_analyze, s.last_autoanalyze) AS analyzed_ago,
       (SELECT sum((1 - coalesce(st.null_frac, 0)) * coalesce(st.avg_width, 0))
        FROM pg_stats AS st WHERE st.schemaname = n.nspname AND st.tablename = c.relname)
         AS row_width,
       (SELECT count(*) FROM pg_stats AS st
        WHERE st.schemaname = n.nspname AND st.tablename = c.relname) AS stats_rows,
       (SELECT count(*) FROM pg_attribute AS a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS ncols,
       has_table_privilege(c.oid, 'SELECT') AS readable
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_stat_user_tables AS s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'm')
ORDER BY s.n_dead_tup DESC, pg_relation_size(c.oid) DESC
LIMIT %s
"""
# Key width from the visible statistics of every key column; NULL (no estimate) when one is
# missing or the key has an expression, rather than a made-up 8 bytes.
INDEXES = """
SELECT ic.oid, n.nspname AS schema, t.relname AS "table", ic.relname AS index,
       ic.reltuples::bigint AS reltuples, pg_relation_size(ic.oid) AS size_bytes,
       coalesce((regexp_match(array_to_string(ic.reloptions, ','),
                              'fillfactor=(\\d+)'))[1]::int, 90) AS fillfactor,
       0 = ANY (i.indkey::int2[]) AS has_expression,
       (SELECT count(*) FROM unnest(i.indkey::int2[]) AS k(attnum) WHERE k.attnum > 0
          AND NOT EXISTS (SELECT 1 FROM pg_attribute AS a JOIN pg_stats AS st
                          ON st.schemaname = n.nspname AND st.tablename = t.relname
                         AND st.attname = a.attname
                          WHERE a.attrelid = t.oid AND a.attnum = k.attnum)) AS unseen_columns,
       (SELECT sum(st.avg_width) FROM pg_attribute AS a
        JOIN pg_stats AS st ON st.schemaname = n.nspname AND st.tablename = t.relname
                           AND st.attname = a.attname
        WHERE a.attrelid = t.oid AND a.attnum = ANY (i.indkey)) AS key_width,
       has_table_privilege(t.oid, 'SELECT') AS readable
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_class AS t ON t.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
JOIN pg_am AS am ON am.oid = ic.relam AND am.amname = 'btree'
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND i.indisvalid
ORDER BY pg_relation_size(ic.oid) DESC
LIMIT %s
"""
SETTINGS = """
SELECT current_setting('block_size')::int AS block_size,
       current_setting('autovacuum_vacuum_threshold')::int AS av_threshold,
       current_setting('autovacuum_vacuum_scale_factor')::float AS av_scale,
       current_setting('autovacuum')::bool AS autovacuum,
       current_setting('server_version_num')::int AS version
"""
NO_STATS_ROLE = "this role cannot read the table's pg_stats rows (needs SELECT on the table)"
NO_STATS_YET = "no statistics yet: run ANALYZE"


def _align(n: float, to: int = 8) -> float:
    return math.ceil(n / to) * to


def table_estimate(row: dict[str, Any], block: int) -> tuple[int | None, str | None]:
    """Bytes beyond what the live rows need, or None and why there is no estimate."""
    if not row["reltuples"] or row["reltuples"] < 0:
        return None, "no row count yet: run ANALYZE" if row["size_bytes"] else None
    if not row["stats_rows"]:
        return None, NO_STATS_YET if row["readable"] else NO_STATS_ROLE
    header = _align(23 + math.ceil(int(row["ncols"]) / 8))
    tuple_size = _align(header + float(row["row_width"] or 0)) + 4  # + line pointer
    per_page = max(1, math.floor((block - 24) * row["fillfactor"] / 100 / tuple_size))
    expected = math.ceil(row["reltuples"] / per_page) * block
    return int(max(0, int(row["size_bytes"]) - expected)), None


def index_estimate(row: dict[str, Any], block: int) -> tuple[int | None, str | None]:
    if row["has_expression"]:
        return None, "an expression index: no width to estimate from (use --exact)"
    if row["unseen_columns"]:
        return None, NO_STATS_YET if row["readable"] else NO_STATS_ROLE
    if not row["reltuples"] or row["reltuples"] < 0 or row["key_width"] is None:
        return None, "no row count yet: run ANALYZE" if row["size_bytes"] else None
    tuple_size = _align(8 + float(row["key_width"])) + 4
    per_page = max(1, math.floor((block - 24 - 16) * row["fillfactor"] / 100 / tuple_size))
    expected = (math.ceil(row["reltuples"] / per_page) + 1) * block  # + the metapage
    return int(max(0, int(row["size_bytes"]) - expected)), None


def _share(wasted: int | None, size: int) -> float | None:
    return round(wasted * 100 / size, 1) if wasted is not None and size else None


def bloat(
    conn: Conn, target: str, *, exact: bool = False, limit: int = 50, limits: Limits = DEFAULT
) -> Report:
    report = Report("bloat", target)
    settings = conn.execute(SETTINGS).fetchone()
    assert settings is not None
    block = int(settings["block_size"])
    exact_ok = exact and has_pgstattuple(conn, report)
    tables = [
        _table(conn, row, settings, block, exact_ok)
        for row in conn.execute(TABLES, (limit,)).fetchall()
    ]
    indexes = [
        _index(conn, row, block, exact_ok) for row in conn.execute(INDEXES, (limit,)).fetchall()
    ]
    report.sections.update(tables=tables, indexes=indexes)
    if not settings["autovacuum"]:
        report.find(Status.WARNING, "autovacuum is off for the whole server")
    _notes(report, tables, indexes, int(settings["version"]))
    _findings(report, tables, indexes, limits)
    return report


def _table(
    conn: Conn, row: dict[str, Any], settings: dict[str, Any], block: int, exact: bool
) -> dict[str, Any]:
    live, dead = int(row["n_live_tup"] or 0), int(row["n_dead_tup"] or 0)
    threshold = row["av_threshold"] if row["av_threshold"] is not None else settings["av_threshold"]
    scale = row["av_scale"] if row["av_scale"] is not None else settings["av_scale"]
    due_at = threshold + scale * max(int(row["reltuples"] or 0), 0)
    size = int(row["size_bytes"])
    estimate, why = table_estimate(row, block)
    entry: dict[str, Any] = {
        "schema": row["schema"],
        "table": row["table"],
        "size_bytes": size,
        "live_tuples": live,
        "dead_tuples": dead,
        "dead_pct": round(dead * 100 / (live + dead), 1) if live + dead else 0.0,
        "estimated_bloat_bytes": estimate,
        "estimated_bloat_pct": _share(estimate, size),
        "no_estimate_why": why,
        "last_vacuum": row["last_vacuum"],
        "last_autovacuum": row["last_autovacuum"],
        "last_analyze": row["last_analyze"],
        "last_autoanalyze": row["last_autoanalyze"],
        "autovacuum_enabled": bool(row["av_enabled"]) and bool(settings["autovacuum"]),
        "autovacuum_due": dead > due_at,
        "autovacuum_threshold": int(due_at),
        "changed_since_analyze": int(row["n_mod_since_analyze"] or 0),
        "vacuumed_ago": row["vacuumed_ago"],
        "analyzed_ago": row["analyzed_ago"],
    }
    if exact:
        measured = conn.execute(
            "SELECT table_len, dead_tuple_percent, free_percent, free_space, dead_tuple_len "
            "FROM pgstattuple(%s)",
            (row["oid"],),
        ).fetchone()
        assert measured is not None
        entry["exact_dead_pct"] = float(measured["dead_tuple_percent"])
        entry["exact_free_pct"] = float(measured["free_percent"])
        wasted = int(measured["free_space"]) + int(measured["dead_tuple_len"])
        entry["exact_bloat_bytes"] = wasted
        entry["exact_bloat_pct"] = _share(wasted, int(measured["table_len"]))
    return entry


def _index(conn: Conn, row: dict[str, Any], block: int, exact: bool) -> dict[str, Any]:
    size = int(row["size_bytes"])
    estimate, why = index_estimate(row, block)
    entry: dict[str, Any] = {
        "schema": row["schema"],
        "table": row["table"],
        "index": row["index"],
        "size_bytes": size,
        "estimated_bloat_bytes": estimate,
        "estimated_bloat_pct": _share(estimate, size),
        "no_estimate_why": why,
    }
    if exact:
        entry.update(measure_index(conn, row["oid"], int(row["fillfactor"]), block))
    return entry


def measure_index(conn: Conn, oid: int, fillfactor: int, block: int) -> dict[str, Any]:
    """pgstatindex: leaf density against the fillfactor a rebuild would pack to, so the
    bytes a REINDEX would give back (a one-leaf index gives back nothing, however sparse)."""
    m = conn.execute(
        "SELECT index_size, leaf_pages, empty_pages, deleted_pages, avg_leaf_density "
        "FROM pgstatindex(%s)",
        (oid,),
    ).fetchone()
    assert m is not None
    density = float(m["avg_leaf_density"])
    leaf = int(m["leaf_pages"])
    if math.isnan(density) or not leaf:  # an empty index has no leaf density
        return {"exact_leaf_density_pct": None, "exact_bloat_bytes": 0, "exact_bloat_pct": 0.0}
    packed = math.ceil(leaf * density / fillfactor)
    wasted_pages = max(0, leaf - packed) + int(m["empty_pages"]) + int(m["deleted_pages"])
    wasted = wasted_pages * block
    return {
        "exact_leaf_density_pct": density,
        "exact_bloat_bytes": wasted,
        "exact_bloat_pct": _share(wasted, int(m["index_size"])),
    }


def wasted_of(entry: dict[str, Any]) -> tuple[int | None, float | None]:
    """Measured if measured, else estimated."""
    if "exact_bloat_bytes" in entry:
        return entry["exact_bloat_bytes"], entry["exact_bloat_pct"]
    return entry["estimated_bloat_bytes"], entry["estimated_bloat_pct"]


def _findings(
    report: Report, tables: list[dict[str, Any]], indexes: list[dict[str, Any]], limits: Limits
) -> None:
    heavy = [t for t in tables if t["dead_pct"] >= 20 and t["dead_tuples"] >= 10_000]
    if heavy:
        top = heavy[0]
        report.find(
            Status.WARNING,
            f"{len(heavy)} table{'s' if len(heavy) != 1 else ''} over 20% dead tuples "
            f"({qualified(top['schema'], top['table'])}: {top['dead_pct']}%)",
        )
    never = [t for t in tables if not t["autovacuum_enabled"] and t["autovacuum_due"]]
    for t in never[:3]:
        report.find(
            Status.WARNING,
            f"autovacuum is off for {qualified(t['schema'], t['table'])}: its "
            f"{t['dead_tuples']} dead tuples stay until someone runs VACUUM",
        )
    _ages(report, tables, limits)
    due = [t for t in tables if t["autovacuum_due"] and t["autovacuum_enabled"]]
    if due:
        report.find(Status.OK, f"autovacuum due on {len(due)} table{'s' if len(due) != 1 else ''}")
    for kind, rows in (("table", tables), ("index", indexes)):
        judged = []
        for entry in rows:
            wasted, share = wasted_of(entry)
            if wasted is None or share is None:
                continue
            # bloated means both a big share *and* many bytes: the milder of the two verdicts
            by_share, by_bytes = (
                limits.bloat_share.status(share),
                limits.bloat_wasted.status(wasted),
            )
            status = Status(min(int(by_share), int(by_bytes)))
            if status is not Status.OK:
                judged.append((status, entry, wasted, share))
        if judged:
            _, top, wasted, share = max(judged, key=lambda j: j[2])
            name = qualified(top["schema"], top[kind])
            many = "es" if kind == "index" else "s"
            report.find(
                worst(j[0] for j in judged),
                f"{len(judged)} bloated {kind}{many if len(judged) != 1 else ''} "
                f"({name}: {share:.0f}% wasted, {format_bytes(wasted)})",
            )
    if not report.findings:
        report.find(Status.OK, "no bloated table or index, none over 20% dead tuples")


def _ages(report: Report, tables: list[dict[str, Any]], limits: Limits) -> None:
    """check_postgres's last_vacuum / last_analyze: only tables with something to do (dead
    tuples, changed rows) count; one never vacuumed counts as infinitely long ago."""
    for what, limit, pending, ago in (
        ("vacuumed", limits.vacuum_age, "dead_tuples", "vacuumed_ago"),
        ("analyzed", limits.analyze_age, "changed_since_analyze", "analyzed_ago"),
    ):
        if limit.off:
            continue
        late = []
        for t in tables:
            if not t[pending]:
                continue
            seconds = t[ago].total_seconds() if t[ago] is not None else math.inf
            status = limit.status(seconds)
            if status is not Status.OK:
                late.append((status, t, seconds))
        if late:
            _, t, seconds = max(late, key=lambda x: x[2])
            since = "never" if math.isinf(seconds) else f"{format_duration(seconds)} ago"
            report.find(
                worst(x[0] for x in late),
                f"{len(late)} table{'s' if len(late) != 1 else ''} not {what} within the limit "
                f"({qualified(t['schema'], t['table'])}: last {what} {since})",
            )


def _notes(
    report: Report, tables: list[dict[str, Any]], indexes: list[dict[str, Any]], version: int
) -> None:
    if version >= 130000:
        report.notes.append(
            "B-tree estimates ignore deduplication (PostgreSQL 13+): for low-cardinality "
            "indexes they are badly off; use --exact (pgstattuple) before acting on them."
        )
    hidden = [r for r in tables + indexes if r["no_estimate_why"] == NO_STATS_ROLE]
    if hidden:
        report.notes.append(
            f"{len(hidden)} tables and indexes have no estimate: {NO_STATS_ROLE}, and pg_monitor "
            "does not grant it. Run as the owner, grant SELECT, or use --exact with "
            "pg_stat_scan_tables."
        )


def has_pgstattuple(conn: Conn, report: Report) -> bool:
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
