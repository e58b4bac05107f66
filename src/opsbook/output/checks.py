"""Rendering check results: table (for people), JSON (for scripts), Nagios (for monitors).

The JSON shape is documented in docs/checks.md and is stable: keys may be added, never
renamed or removed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opsbook.nagios import format_perfdata, range_text
from opsbook.output.table import Style
from opsbook.results import Range, Result, Unit
from opsbook.status import Status, worst
from opsbook.units import format_bytes, format_duration

SCHEMA_VERSION = 1
_STYLE: dict[Status, Style] = {
    Status.OK: "green",
    Status.WARNING: "yellow",
    Status.CRITICAL: "red",
    Status.UNKNOWN: "magenta",
}


def format_value(value: float | None, unit: Unit) -> str:
    if value is None:
        return ""
    if unit is Unit.SECONDS:
        return format_duration(value)
    if unit is Unit.PERCENT:
        return f"{value:.1f}%"
    if unit is Unit.BYTES:
        return format_bytes(value)
    if unit is Unit.DAYS:
        return f"{value:.1f} days" if abs(value) < 10 else f"{value:.0f} days"
    return f"{value:g}"


def summary(results: Sequence[Result]) -> str:
    counts = Counter(r.status for r in results)
    order = (Status.CRITICAL, Status.UNKNOWN, Status.WARNING, Status.OK)
    parts = []
    for status in order:
        if counts[status]:
            names = [r.name for r in results if r.status is status]
            shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
            parts.append(
                f"{counts[status]} {status.name.lower()}"
                + (f" ({shown})" if status is not Status.OK else "")
            )
    return ", ".join(parts) if parts else "no checks configured"


def to_json(results: Sequence[Result], *, service: str, source: str) -> str:
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "service": service,
        "config": source,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": worst(r.status for r in results).name,
        "summary": summary(results),
        "checks": [result_dict(r) for r in results],
    }
    return json.dumps(doc, indent=2)


def result_dict(r: Result) -> dict[str, Any]:
    return {
        "name": r.name,
        "type": r.kind.value,
        "target": r.target,
        "status": r.status.name,
        "value": r.value,
        "unit": r.unit.value,
        "message": r.message,
        "duration_ms": round(r.duration * 1000, 1),
        "started_at": r.started_at.isoformat(timespec="milliseconds"),
        "metrics": [
            {
                "name": m.name,
                "value": m.value,
                "unit": m.unit.value,
                # the threshold as a number, as schema 1 has it (one-sided ranges); which way
                # it points, and two-sided ranges, in Nagios syntax ("30", "30:", "@10:20")
                "warning": _bound(m.warning),
                "critical": _bound(m.critical),
                "warning_range": range_text(m, m.warning),
                "critical_range": range_text(m, m.critical),
                "min": m.min,
                "max": m.max,
            }
            for m in r.metrics
        ],
        "details": r.details,
    }


def _bound(threshold: Range | None) -> float | None:
    if threshold is None or threshold.inside:
        return None
    if threshold.high is None:
        return threshold.low  # lower is worse: alerts under it
    if threshold.low is None or threshold.low == 0:
        return threshold.high  # higher is worse: alerts over it
    return None  # two-sided: only the range says it


def to_nagios(results: Sequence[Result], *, service: str) -> str:
    """``STATUS: summary | perfdata`` then one line per check (plugin guidelines, 2.3)."""
    status = worst(r.status for r in results)
    perf = " ".join(format_perfdata(f"{r.name}_{m.name}", m) for r in results for m in r.metrics)
    first = f"{service.upper()} {status.name}: {summary(results)}"
    lines = [f"{first} | {perf}" if perf else first]
    lines += [f"[{r.status.name}] {r.name}: {r.message}" for r in results]
    return "\n".join(line.replace("|", "/") if i else line for i, line in enumerate(lines))


def print_table(results: Sequence[Result], *, service: str, notes: Sequence[str] = ()) -> None:
    import click

    from opsbook.output.table import Cell, Column, render, styled

    for note in notes:
        click.echo(styled(note, "dim"))
    columns = [
        Column("CHECK"),
        Column("STATUS"),
        Column("VALUE", align="right"),
        Column("MESSAGE", wrap=True),
        Column("TIME", align="right"),
    ]
    rows: list[list[Cell | str]] = [
        [
            r.name,
            Cell(r.status.name, _STYLE[r.status]),
            format_value(r.value, r.unit),
            r.message,
            format_duration(r.duration),
        ]
        for r in results
    ]
    click.echo(render(columns, rows))
    status = worst(r.status for r in results)
    click.echo(f"{service}: {styled(status.name, _STYLE[status])} — {summary(results)}")
