"""`opsbook db slow-queries`: from pg_stat_statements, whose columns follow the installed
*extension* version, not the server's: total_time/mean_time before 1.8, total_exec_time/
mean_exec_time from 1.8 (PostgreSQL 13), and blk_read_time/blk_write_time renamed
shared_blk_read_time/shared_blk_write_time in 1.11 (PostgreSQL 17). The runbook's query used
the old names and fails on PostgreSQL 13+."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from opsbook.clients import postgres as pg
from opsbook.errors import DatabaseError
from opsbook.postgres.connect import Conn, privileges
from opsbook.postgres.report import Report, mask_query
from opsbook.status import Status

ORDER = {"total": "total", "mean": "mean", "calls": "calls"}

OBJECT_NOT_IN_PREREQUISITE_STATE = "55000"  # what PostgreSQL says when the library is not preloaded


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def columns(version: tuple[int, ...]) -> dict[str, str]:
    new = version >= (1, 8)
    blk = "shared_blk_" if version >= (1, 11) else "blk_"
    return {
        "total": "total_exec_time" if new else "total_time",
        "mean": "mean_exec_time" if new else "mean_time",
        "read_time": f"{blk}read_time",
        "write_time": f"{blk}write_time",
    }


def slow_queries(
    conn: Conn, target: str, *, by: str = "total", limit: int = 10, own: bool = False
) -> Report:
    """``own``: include opsbook's own statements (tagged at the seam, clients/postgres.TAG)."""
    report = Report("slow-queries", target)
    ext = conn.execute(
        "SELECT extversion, extnamespace::regnamespace::text AS schema FROM pg_extension "
        "WHERE extname = 'pg_stat_statements'"
    ).fetchone()
    database = conn.info.dbname
    if ext is None:
        advice = f"run CREATE EXTENSION pg_stat_statements; in database {database}"
        if preloaded(_setting(conn, "shared_preload_libraries")) is False:
            advice = (
                "add pg_stat_statements to shared_preload_libraries in postgresql.conf, "
                f"restart PostgreSQL, then {advice}"
            )
        report.find(Status.UNKNOWN, f"pg_stat_statements is not installed: {advice}")
        return report
    # Whether it is loaded is the view's to say (it errors when it is not): the setting may
    # read '$libdir/pg_stat_statements', and a role without pg_read_all_settings cannot read it.
    version = _version(str(ext["extversion"]))
    cols = columns(version)
    report.facts.update(extension_version=ext["extversion"], ordered_by=by, opsbook_own=own)
    order = cols["total"] if by == "total" else cols["mean"] if by == "mean" else "calls"
    query = sql.SQL(
        "SELECT queryid, calls, {total} AS total_ms, {mean} AS mean_ms, rows, "
        "{read} AS read_ms, {write} AS write_ms, shared_blks_hit, shared_blks_read, query, "
        "100.0 * {total} / nullif(sum({total}) OVER (), 0) AS share_pct "
        "FROM {schema}.pg_stat_statements "
        # The view covers every database of the cluster; the report is about this one.
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND (%s OR query NOT LIKE %s) "
        "ORDER BY {order} DESC NULLS LAST LIMIT %s"
    ).format(
        total=sql.Identifier(cols["total"]),
        mean=sql.Identifier(cols["mean"]),
        read=sql.Identifier(cols["read_time"]),
        write=sql.Identifier(cols["write_time"]),
        schema=sql.Identifier(str(ext["schema"])),
        order=sql.Identifier(order),
    )
    try:
        with pg.translated():
            rows = conn.execute(query, (own, pg.TAG + "%", limit)).fetchall()
    except DatabaseError as exc:
        if exc.sqlstate == OBJECT_NOT_IN_PREREQUISITE_STATE and "shared_preload_libraries" in str(
            exc
        ):
            report.find(
                Status.UNKNOWN,
                "pg_stat_statements must be loaded via "
                "shared_preload_libraries: add it in postgresql.conf and restart",
            )
            return report
        raise
    report.sections["queries"] = [_row(r) for r in rows]
    report.sections["by_user"] = _by_user(conn, str(ext["schema"]), cols, own)
    if rows:
        top = rows[0]
        share = float(top["share_pct"] or 0)
        report.find(
            Status.OK,
            f"top query by {by}: {float(top['mean_ms'] or 0):.1f} ms mean, "
            f"{top['calls']} calls, {share:.0f}% of total time",
        )
    else:
        report.find(Status.OK, "no statements recorded yet")
    note = f"pg_stat_statements {ext['extversion']}: columns {cols['total']}, {cols['mean']}."
    if not privileges(conn).all_stats:
        note += " Other roles' query text shows as <insufficient privilege>: grant pg_monitor."
    report.notes.append(note)
    return report


def _by_user(conn: Conn, schema: str, cols: dict[str, str], own: bool) -> list[dict[str, Any]]:
    """Who spends the database's time: per role, as PgHero's per-user query stats."""
    query = sql.SQL(
        "SELECT coalesce(r.rolname, s.userid::text) AS user, count(*) AS statements, "
        "sum(s.calls) AS calls, sum(s.{total}) AS total_ms, "
        "100.0 * sum(s.{total}) / nullif(sum(sum(s.{total})) OVER (), 0) AS share_pct "
        "FROM {schema}.pg_stat_statements AS s LEFT JOIN pg_roles AS r ON r.oid = s.userid "
        "WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND (%s OR s.query NOT LIKE %s) "
        "GROUP BY 1 ORDER BY 4 DESC NULLS LAST"
    ).format(total=sql.Identifier(cols["total"]), schema=sql.Identifier(schema))
    rows = conn.execute(query, (own, pg.TAG + "%")).fetchall()
    return [
        {
            **r,
            "total_ms": round(float(r["total_ms"] or 0), 2),
            "share_pct": round(float(r["share_pct"] or 0), 1),
        }
        for r in rows
    ]


def _setting(conn: Conn, name: str) -> str | None:
    """None when this role may not see it (pg_settings hides superuser-only settings)."""
    row = conn.execute("SELECT setting FROM pg_settings WHERE name = %s", (name,)).fetchone()
    return str(row["setting"]) if row else None


def preloaded(setting: str | None) -> bool | None:
    """Whether shared_preload_libraries names pg_stat_statements, however it is written
    ('$libdir/pg_stat_statements', "pg_stat_statements.so", quoted); None when unknown."""
    if setting is None:
        return None
    names = [
        p.strip().strip("'\"").rsplit("/", 1)[-1].removesuffix(".so") for p in setting.split(",")
    ]
    return "pg_stat_statements" in names


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "query": mask_query(row["query"])[:500],
        "total_ms": round(float(row["total_ms"] or 0), 2),
        "mean_ms": round(float(row["mean_ms"] or 0), 3),
        "share_pct": round(float(row["share_pct"] or 0), 1),
    }
