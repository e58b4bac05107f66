"""``opsbook history``: a check's uptime and status periods, as JSON and as a table."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from opsbook.output.table import Cell, Column, Style, render
from opsbook.status import Status
from opsbook.timefmt import human, iso
from opsbook.units import format_duration

if TYPE_CHECKING:
    from opsbook.alerts.history import History

_STYLE: dict[Status, Style] = {
    Status.OK: "green",
    Status.WARNING: "yellow",
    Status.CRITICAL: "red",
    Status.UNKNOWN: "magenta",
}
SHOWN_PERIODS = 20
PATIENCE = 300  # seconds: data starting later than this after the asked start is said to


def history_json(found: History) -> dict[str, Any]:
    return {
        "check": found.check,
        "since": iso(found.since),
        "data_from": iso(found.first) if found.first else None,
        "results": found.total,
        "uptime": found.uptime,
        "counts": {s.name: found.counts[s] for s in Status},
        "periods": [
            {
                "status": p.status.name,
                "from": iso(p.start),
                "until": iso(p.end),
                "results": p.results,
                "message": p.message,
            }
            for p in found.periods
        ],
    }


def history_text(found: History, tz: tzinfo) -> str:
    if not found.total:
        return (
            f"{found.check}: no results since {human(found.since, tz)} (is opsbook serve running?)"
        )
    assert found.uptime is not None
    counts = ", ".join(f"{found.counts[s]} {s.name}" for s in Status if found.counts[s])
    start = found.first or found.since
    # Never claim a week's uptime from a quarter of an hour of data.
    late = found.first is not None and (found.first - found.since).total_seconds() > PATIENCE
    since = f"since {human(start, tz)}" + (
        f", when its data starts (asked from {human(found.since, tz)})" if late else ""
    )
    head = f"{found.check}: {found.uptime * 100:.2f}% OK {since} ({found.total} results: {counts})"
    rows: list[list[Cell | str]] = [
        [
            Cell(p.status.name, _STYLE[p.status]),
            human(p.start, tz),
            human(p.end, tz),
            format_duration((p.end - p.start).total_seconds()),
            str(p.results),
            p.message,
        ]
        for p in found.periods[-SHOWN_PERIODS:]
    ]
    columns = [Column("STATUS"), Column("FROM"), Column("TO"), Column("FOR", align="right")]
    columns += [Column("RESULTS", align="right"), Column("FIRST MESSAGE", wrap=True)]
    return head + "\n" + render(columns, rows)
