"""`opsbook db health`: the numbers that decide whether tonight is quiet.

Cache hit ratio, deadlocks and temp files since reset, transaction-ID and multixact wraparound
age and what holds the xmin horizon back (old transactions, replication slots, prepared
transactions), sequences near exhaustion measured against the *column's* type (a bigint
sequence feeding an int4 column dies at 2^31, long before the sequence's own maximum),
replication lag and inactive slots, and sizes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsbook.postgres.connect import Conn, privileges
from opsbook.postgres.limits import DEFAULT, Limits
from opsbook.postgres.names import ident, qualified
from opsbook.postgres.report import Report, mask_query
from opsbook.status import Status
from opsbook.units import format_duration

WRAP_LIMIT = 2**31  # transaction IDs and multixacts wrap around here
DATABASE = """
SELECT datname, blks_hit, blks_read, deadlocks, temp_files, temp_bytes, stats_reset,
       pg_database_size(datname) AS size_bytes, pg_size_pretty(pg_database_size(datname)) AS size,
       100.0 * blks_hit / nullif(blks_hit + blks_read, 0) AS cache_hit_pct
FROM pg_stat_database WHERE datname = current_database()
"""
WRAPAROUND = """
SELECT datname AS database, age(datfrozenxid) AS xid_age, mxid_age(datminmxid) AS mxid_age
FROM pg_database WHERE datallowconn ORDER BY age(datfrozenxid) DESC
"""
# What holds the xmin horizon: a snapshot (backend_xmin) or a transaction id of its own
# (backend_xid). A writer idle in transaction has the second and not the first, and still
# keeps VACUUM from removing every row deleted after it began.
# PgHero's per-table view of the same danger: which tables autovacuum must freeze first.
TABLE_WRAPAROUND = """
SELECT n.nspname AS schema, c.relname AS "table", age(c.relfrozenxid) AS xid_age,
       mxid_age(c.relminmxid) AS mxid_age,
       round(100.0 * age(c.relfrozenxid) / 2147483648, 2) AS xid_pct,
       round(100.0 * age(c.relfrozenxid)
             / current_setting('autovacuum_freeze_max_age')::bigint, 1) AS freeze_max_age_pct
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND c.relfrozenxid <> '0'::xid
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY age(c.relfrozenxid) DESC
LIMIT 10
"""
OLD_TRANSACTIONS = """
SELECT pid, usename AS "user", application_name AS application, state,
       coalesce(backend_xid, backend_xmin)::text AS horizon_xid,
       greatest(age(backend_xmin), age(backend_xid)) AS xmin_age,
       now() - coalesce(xact_start, state_change) AS transaction_age, query
FROM pg_stat_activity
WHERE (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL) AND pid <> pg_backend_pid()
ORDER BY greatest(age(backend_xmin), age(backend_xid)) DESC LIMIT 5
"""
PREPARED = """
SELECT gid, owner, database, prepared, age(transaction) AS xid_age
FROM pg_prepared_xacts ORDER BY age(transaction) DESC
"""
SLOTS = """
SELECT slot_name, slot_type, active, age(xmin) AS xmin_age,
       age(catalog_xmin) AS catalog_xmin_age,
       CASE WHEN pg_is_in_recovery() THEN NULL
            ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END AS retained_wal_bytes
FROM pg_replication_slots ORDER BY active, slot_name
"""
REPLICAS = """
SELECT application_name, client_addr::text, state, sync_state, write_lag, flush_lag, replay_lag
FROM pg_stat_replication ORDER BY application_name
"""
REPLAY = """
SELECT pg_is_in_recovery() AS in_recovery,
       CASE WHEN pg_is_in_recovery() THEN now() - pg_last_xact_replay_timestamp() END
         AS replay_delay
"""
# A sequence feeds a column when the column owns it (serial, identity) or when the column's
# DEFAULT calls nextval() on it (a dependency of the default, not an ownership): the limit is
# the narrowest column it feeds.
SEQUENCES = """
WITH feeds AS (
  SELECT d.objid AS seq, d.refobjid AS rel, d.refobjsubid AS attnum
  FROM pg_depend AS d
  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
    AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
  UNION
  SELECT d.refobjid, ad.adrelid, ad.adnum
  FROM pg_depend AS d JOIN pg_attrdef AS ad ON ad.oid = d.objid
  WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
)
SELECT s.schemaname AS schema, s.sequencename AS sequence, s.data_type::text AS sequence_type,
       s.last_value, s.max_value, s.increment_by,
       col.table_schema, col.table, col.column, col.column_type, col.column_max
FROM pg_sequences AS s
JOIN pg_namespace AS sn ON sn.nspname = s.schemaname
JOIN pg_class AS sc ON sc.relname = s.sequencename AND sc.relnamespace = sn.oid
LEFT JOIN LATERAL (
  SELECT tn.nspname AS table_schema, t.relname AS "table", a.attname AS "column",
         format_type(a.atttypid, a.atttypmod) AS column_type,
         CASE a.atttypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647
                         ELSE 9223372036854775807 END AS column_max
  FROM feeds AS f
  JOIN pg_class AS t ON t.oid = f.rel
  JOIN pg_namespace AS tn ON tn.oid = t.relnamespace
  JOIN pg_attribute AS a ON a.attrelid = f.rel AND a.attnum = f.attnum
  WHERE f.seq = sc.oid
  ORDER BY 5 LIMIT 1
) AS col ON true
WHERE s.increment_by > 0
"""
LARGEST = """
SELECT n.nspname AS schema, c.relname AS "table", pg_total_relation_size(c.oid) AS total_bytes,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 10
"""


def health(conn: Conn, target: str, *, limits: Limits = DEFAULT) -> Report:
    report = Report("health", target)
    db = conn.execute(DATABASE).fetchone() or {}
    report.facts["database"] = db
    hit = float(db.get("cache_hit_pct") or 100)
    report.find(Status.WARNING if hit < 95 else Status.OK, f"cache hit {hit:.2f}%")
    if db.get("deadlocks"):
        report.find(
            Status.WARNING, f"{db['deadlocks']} deadlocks since {_since(db.get('stats_reset'))}"
        )
    wrap = conn.execute(WRAPAROUND).fetchall()
    report.sections["wraparound"] = [
        {
            **r,
            "xid_pct": round(int(r["xid_age"]) * 100 / WRAP_LIMIT, 2),
            "mxid_pct": round(int(r["mxid_age"]) * 100 / WRAP_LIMIT, 2),
        }
        for r in wrap
    ]
    oldest = max(
        (max(r["xid_pct"], r["mxid_pct"]) for r in report.sections["wraparound"]), default=0.0
    )
    status = Status.CRITICAL if oldest >= 75 else Status.WARNING if oldest >= 50 else Status.OK
    tables = conn.execute(TABLE_WRAPAROUND).fetchall()
    report.sections["table_wraparound"] = tables
    where = (
        f" ({qualified(tables[0]['schema'], tables[0]['table'])} oldest, "
        f"{tables[0]['freeze_max_age_pct']}% of autovacuum_freeze_max_age)"
        if tables and status is not Status.OK
        else ""
    )
    report.find(status, f"wraparound {oldest:.1f}% of the way{where}")
    holders = [
        {**r, "query": mask_query(r["query"])} for r in conn.execute(OLD_TRANSACTIONS).fetchall()
    ]
    report.sections["horizon_transactions"] = holders
    if holders:
        oldest_tx = max(holders, key=lambda r: _seconds(r["transaction_age"]))
        held = _seconds(oldest_tx["transaction_age"])
        status = limits.transaction_age.status(held)
        if status is not Status.OK:
            report.find(
                status,
                f"pid {oldest_tx['pid']} ({oldest_tx['user']}, {oldest_tx['state']}) has held "
                f"the xmin horizon for {format_duration(held)}: VACUUM cannot remove rows "
                "deleted since",
            )
    report.sections["prepared_transactions"] = conn.execute(PREPARED).fetchall()
    slots = conn.execute(SLOTS).fetchall()
    report.sections["replication_slots"] = slots
    inactive = [s for s in slots if not s["active"]]
    if inactive:
        report.find(
            Status.WARNING,
            f"{len(inactive)} inactive replication slot"
            f"{'s' if len(inactive) != 1 else ''} holding WAL and the xmin horizon "
            f"({', '.join(s['slot_name'] for s in inactive[:3])})",
        )
    if report.sections["prepared_transactions"]:
        report.find(
            Status.WARNING,
            f"{len(report.sections['prepared_transactions'])} prepared "
            "transactions holding the horizon",
        )
    report.sections["replicas"] = conn.execute(REPLICAS).fetchall()
    replay = conn.execute(REPLAY).fetchone() or {}
    report.facts["replica"] = replay
    delay = replay.get("replay_delay")
    if delay is not None and delay.total_seconds() > 60:
        report.find(Status.WARNING, f"replaying {delay.total_seconds():.0f} s behind the primary")
    superuser = privileges(conn).superuser
    report.sections["sequences"] = _sequences(conn.execute(SEQUENCES).fetchall(), report, superuser)
    report.sections["largest_tables"] = conn.execute(LARGEST).fetchall()
    return report


def _sequences(rows: list[dict[str, Any]], report: Report, superuser: bool) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if r["last_value"] is None:  # never used, or not readable by this role
            continue
        limit = min(int(r["max_value"]), int(r["column_max"] or r["max_value"]))
        pct = round(int(r["last_value"]) * 100 / limit, 2)
        out.append(
            {
                **r,
                "limit": limit,
                "used_pct": pct,
                "limited_by": "column" if limit < int(r["max_value"]) else "sequence",
            }
        )
    out.sort(key=lambda r: r["used_pct"], reverse=True)
    out = out[:20]  # the ones nearest their end
    near = [r for r in out if r["used_pct"] >= 75]
    if near:
        top = near[0]
        where = (
            f"{qualified(top['table_schema'], top['table'])}.{ident(top['column'])}"
            if top["table"]
            else ""
        )
        status = Status.CRITICAL if top["used_pct"] >= 90 else Status.WARNING
        report.find(
            status,
            f"sequence {qualified(top['schema'], top['sequence'])} {top['used_pct']}% used"
            + (
                f" (limited by {top['column_type']} column {where})"
                if top["limited_by"] == "column"
                else ""
            ),
        )
    if not superuser:
        report.notes.append(
            "A sequence's last_value is visible only with USAGE or SELECT on it; "
            "pg_monitor alone shows unused and unreadable ones as nothing to measure."
        )
    return out


def _seconds(interval: timedelta | None) -> float:
    return interval.total_seconds() if interval is not None else 0.0


def _since(when: Any) -> str:
    return f"{when:%Y-%m-%d}" if when else "statistics began"
