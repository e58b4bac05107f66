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
WIDE = ("query", "blocked_query", "blocking_query")


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


def print_report(report: Report) -> None:
    for name, rows in report.sections.items():
        if not rows:
            continue
        click.echo(styled(f"{name.replace('_', ' ')} ({len(rows)})", "dim"))
        keys = [k for k in rows[0] if k not in ("oid",)]
        wide = next((k for k in keys if k in WIDE), None)
        columns = [Column(k.upper().replace("_", " "), wrap=k == wide) for k in keys]
        body: list[list[Cell | str]] = [[_value(k, r.get(k)) for k in keys] for r in rows]
        click.echo(render(columns, body))
        click.echo()
    for note in report.notes:
        click.echo(styled(note, "dim"))
    status = report.status
    click.echo(f"{report.name}: {styled(status.name, _STYLE[status])} — {report.summary}")
