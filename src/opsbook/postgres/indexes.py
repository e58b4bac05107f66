"""`opsbook db indexes`: unused, duplicate / redundant, and invalid indexes; with advice.py,
NOT VALID constraints and tables that look like they miss an index.

The runbook's query matched pg_indexes to pg_stat_user_indexes by index *name* (a column
pg_stat_user_indexes does not even have: it is indexrelname), so equal names in two schemas
were confused and unique / primary-key indexes were listed as droppable. Here everything is
joined by OID and indexes that enforce something are never "unused".
"""

from __future__ import annotations

from typing import Any

from opsbook.postgres.advice import not_valid, sequential
from opsbook.postgres.connect import Conn
from opsbook.postgres.names import qualified
from opsbook.postgres.report import Report
from opsbook.status import Status

UNUSED = """
SELECT s.schemaname AS schema, s.relname AS "table", s.indexrelname AS index,
       s.idx_scan AS scans, pg_relation_size(s.indexrelid) AS size_bytes,
       pg_size_pretty(pg_relation_size(s.indexrelid)) AS size
FROM pg_stat_user_indexes AS s
JOIN pg_index AS i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0
  AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
  AND NOT i.indisreplident AND i.indisvalid
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = s.indexrelid)
ORDER BY pg_relation_size(s.indexrelid) DESC, 1, 2, 3
"""
STATS_SINCE = """
SELECT stats_reset, pg_postmaster_start_time() AS started
FROM pg_stat_database WHERE datname = current_database()
"""
# Same table, same columns, operator classes, collations, expressions and predicate.
DUPLICATES = """
SELECT n.nspname AS schema, t.relname AS "table",
       array_agg(ic.relname ORDER BY ic.relname) AS indexes,
       array_agg(i.indisunique OR i.indisprimary ORDER BY ic.relname) AS enforcing,
       pg_size_pretty(sum(pg_relation_size(i.indexrelid))::bigint) AS size
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_class AS t ON t.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND i.indisvalid
GROUP BY n.nspname, t.relname, i.indrelid, i.indkey::text, i.indclass::text,
         i.indcollation::text, coalesce(pg_get_expr(i.indexprs, i.indrelid), ''),
         coalesce(pg_get_expr(i.indpred, i.indrelid), '')
HAVING count(*) > 1
ORDER BY 1, 2
"""
# A plain B-tree whose columns are a leading prefix of another B-tree's on the same table.
REDUNDANT = """
SELECT n.nspname AS schema, t.relname AS "table", a.relname AS index, b.relname AS covered_by,
       pg_size_pretty(pg_relation_size(ia.indexrelid)) AS size
FROM pg_index AS ia
JOIN pg_index AS ib ON ib.indrelid = ia.indrelid AND ib.indexrelid <> ia.indexrelid
JOIN pg_class AS a ON a.oid = ia.indexrelid
JOIN pg_class AS b ON b.oid = ib.indexrelid
JOIN pg_class AS t ON t.oid = ia.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
JOIN pg_am AS am ON am.oid = a.relam AND am.amname = 'btree'
JOIN pg_am AS bm ON bm.oid = b.relam AND bm.amname = 'btree'
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT ia.indisunique AND NOT ia.indisprimary AND ia.indisvalid AND ib.indisvalid
  AND ia.indexprs IS NULL AND ib.indexprs IS NULL
  AND ia.indpred IS NULL AND ib.indpred IS NULL
  AND ia.indnatts < ib.indnatts
  -- slices on both sides: int2vector / oidvector arrays start at 0, slices at 1
  AND (ib.indkey::int2[])[0:ia.indnatts - 1] = (ia.indkey::int2[])[0:ia.indnatts - 1]
  AND (ib.indclass::oid[])[0:ia.indnatts - 1] = (ia.indclass::oid[])[0:ia.indnatts - 1]
ORDER BY 1, 2, 3
"""
INVALID = """
SELECT n.nspname AS schema, t.relname AS "table", c.relname AS index,
       pg_size_pretty(pg_relation_size(c.oid)) AS size
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_class AS t ON t.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE NOT i.indisvalid
ORDER BY 1, 2, 3
"""


def indexes(conn: Conn, target: str) -> Report:
    report = Report("indexes", target)
    unused = conn.execute(UNUSED).fetchall()
    since = conn.execute(STATS_SINCE).fetchone() or {}
    reset = since.get("stats_reset") or since.get("started")
    duplicates = [_dup(r) for r in conn.execute(DUPLICATES).fetchall()]
    redundant = conn.execute(REDUNDANT).fetchall()
    invalid = conn.execute(INVALID).fetchall()
    report.sections.update(
        unused=unused, duplicates=duplicates, redundant=redundant, invalid=invalid
    )
    report.facts["scans_counted_since"] = reset
    window = f"since {reset:%Y-%m-%d %H:%M %Z}" if reset else "since statistics began"
    report.notes.append(
        f"Scan counts are {window}; an index idle for a short span may still serve a monthly "
        "job. Unique, primary-key, exclusion and replica-identity indexes are never listed."
    )
    total = sum(int(r["size_bytes"]) for r in unused)
    if unused:
        report.find(
            Status.WARNING if total > 100 * 1024 * 1024 else Status.OK,
            f"{len(unused)} unused index{'es' if len(unused) != 1 else ''} "
            f"({_mb(total)}, {window})",
        )
    if duplicates:
        report.find(
            Status.WARNING,
            f"{len(duplicates)} set{'s' if len(duplicates) != 1 else ''} of duplicate indexes",
        )
    if redundant:
        report.find(
            Status.OK,
            f"{len(redundant)} redundant (prefix) index{'es' if len(redundant) != 1 else ''}",
        )
    if invalid:
        names = ", ".join(qualified(r["schema"], r["index"]) for r in invalid[:3])
        report.find(
            Status.WARNING,
            f"{len(invalid)} invalid index{'es' if len(invalid) != 1 else ''}"
            f" ({names}): rebuild with opsbook db reindex --invalid",
        )
    not_valid(conn, report)
    sequential(conn, report)
    if not report.findings:
        report.find(Status.OK, "no unused, duplicate or invalid indexes")
    return report


def _dup(row: dict[str, Any]) -> dict[str, Any]:
    keep = [ix for ix, enforcing in zip(row["indexes"], row["enforcing"], strict=True) if enforcing]
    keep = keep or row["indexes"][:1]
    return {**row, "drop_candidates": [ix for ix in row["indexes"] if ix not in keep[:1]]}


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"
