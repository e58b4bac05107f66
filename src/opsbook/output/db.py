"""`opsbook db` reports for people: each section as a table, notes, and the one-line verdict."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import click

from opsbook.output.table import Cell, Column, Style, render, styled
from opsbook.postgres.report import Report
from opsbook.status import Status
from opsbook.units import format_bytes, format_duration

_STYLE: dict[Status, Style] = {
    Status.OK: "green",
    Status.WARNING: "yellow",
    Status.CRITICAL: "red",
    Status.UNKNOWN: "magenta",
}
WIDE = ("query", "blocked_query", "blocking_query", "queries", "definition")


def _value(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, timedelta):
        return format_duration(value.total_seconds())
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if key.endswith("_bytes") and isinstance(value, int | float | Decimal):
        return format_bytes(float(value))
    if isinstance(value, float | Decimal):
        return f"{float(value):.2f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# Sections whose table shows fewer columns than their JSON: the query needs the room.
SHOWN = {
    "queries": ("calls", "total_ms", "mean_ms", "rows", "share_pct", "query"),
    "tables": (
        "schema",
        "table",
        "size",
        "dead_tuples",
        "dead_pct",
        "wasted",
        "last_vacuum",
        "autovacuum",
    ),
    "indexes": ("schema", "table", "index", "size", "wasted"),
    "largest_tables": ("schema", "table", "total"),
    "sequential_scans": (
        "schema",
        "table",
        "rows",
        "seq_scan",
        "idx_scan",
        "index_use_pct",
        "queries",
    ),
}
NUMERIC = ("calls", "rows", "scans", "connections", "active", "total_ms", "mean_ms",
           "share_pct", "xid_age", "mxid_age", "xid_pct", "mxid_pct", "dead_tuples", "seq_scan",
           "idx_scan", "index_use_pct", "freeze_max_age_pct", "dead_pct")  # fmt: skip


def print_report(report: Report) -> None:
    for line in _facts(report):
        click.echo(line)
    for name, rows in report.sections.items():
        if not rows:
            continue
        click.echo(styled(f"{name.replace('_', ' ')} ({len(rows)})", "dim"))
        shown = [_for_people(r) for r in rows]
        keys = [k for k in SHOWN.get(name, tuple(shown[0])) if k != "oid"]
        wide = next((k for k in keys if k in WIDE), None)
        columns = [
            Column(k.upper().replace("_", " "), "right" if k in NUMERIC else "left", k == wide)
            for k in keys
        ]
        body: list[list[Cell | str]] = [[_value(k, r.get(k)) for k in keys] for r in shown]
        click.echo(render(columns, body))
        click.echo()
    for note in report.notes:
        click.echo(styled(note, "dim"))
    status = report.status
    click.echo(f"{report.name}: {styled(status.name, _STYLE[status])} — {report.summary}")


def _for_people(row: dict[str, Any]) -> dict[str, Any]:
    """A duplicate set's `enforcing` booleans, said next to the index names they belong to;
    the statements reading a table by sequential scan, as the costliest one's text."""
    if "estimated_bloat_bytes" in row:  # bloat: one column for the waste, one for autovacuum
        return {**row, **_bloat_cells(row)}
    queries = row.get("queries")
    if isinstance(queries, list):
        top = f"{queries[0]['query']} ({queries[0]['calls']} calls)" if queries else "—"
        return {**row, "queries": top}
    if "indexes" in row and "enforcing" in row:
        pairs = zip(row["indexes"], row["enforcing"], strict=True)
        names = [f"{ix} (unique)" if enforcing else ix for ix, enforcing in pairs]
        return {k: (names if k == "indexes" else v) for k, v in row.items() if k != "enforcing"}
    return row


def _facts(report: Report) -> list[str]:
    """The blocks JSON has outside sections: the database's own figures, the replica state."""
    lines = []
    db = report.facts.get("database")
    if isinstance(db, dict):
        parts = [
            f"size {format_bytes(float(db['size_bytes']))}" if db.get("size_bytes") else "",
            f"cache hit {float(db['cache_hit_pct']):.2f}%" if db.get("cache_hit_pct") else "",
            f"deadlocks {db.get('deadlocks', 0)}",
            f"temp files {db.get('temp_files', 0)} "
            f"({format_bytes(float(db.get('temp_bytes') or 0))})",
            f"counted since {_value('', db['stats_reset'])}" if db.get("stats_reset") else "",
        ]
        lines.append(f"database {db.get('datname', '')}: " + ", ".join(p for p in parts if p))
    replica = report.facts.get("replica")
    if isinstance(replica, dict):
        if replica.get("in_recovery"):
            delay = _value("", replica.get("replay_delay"))
            lines.append(f"replica: in recovery, replaying {delay} behind its primary")
        else:
            lines.append("role: primary (not in recovery)")
    return [*lines, ""] if lines else []


def _bloat_cells(row: dict[str, Any]) -> dict[str, Any]:
    measured = "exact_bloat_bytes" in row
    wasted = row["exact_bloat_bytes"] if measured else row["estimated_bloat_bytes"]
    share = row["exact_bloat_pct"] if measured else row["estimated_bloat_pct"]
    if wasted is None or share is None:
        waste = f"? ({row['no_estimate_why']})" if row.get("no_estimate_why") else "—"
    else:
        waste = f"{share:g}% ({format_bytes(float(wasted))}){'' if measured else ' est.'}"
    cells: dict[str, Any] = {"size": format_bytes(float(row["size_bytes"])), "wasted": waste}
    if "autovacuum_due" in row:
        due = "due" if row["autovacuum_due"] else "not due"
        cells["autovacuum"] = due if row["autovacuum_enabled"] else f"OFF: never runs ({due})"
        times = [t for t in (row.get("last_vacuum"), row.get("last_autovacuum")) if t]
        cells["last_vacuum"] = max(times) if times else None
    return cells
