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
    from opsbook.alerts.series import Point, Summary

_STYLE: dict[Status, Style] = {
    Status.OK: "green",
    Status.WARNING: "yellow",
    Status.CRITICAL: "red",
    Status.UNKNOWN: "magenta",
}
SHOWN_PERIODS = 20
PATIENCE = 300  # seconds: data starting later than this after the asked start is said to


def history_json(found: History, measured: list[Summary] | None = None) -> dict[str, Any]:
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
        "measurements": [
            {
                "name": m.name,
                "samples": m.samples,
                "min": m.minimum,
                "mean": m.mean,
                "max": m.maximum,
                "latest": m.latest,
                "latest_at": iso(m.latest_at) if m.latest_at else None,
            }
            for m in measured or ()
        ],
    }


def series_json(check: str, name: str, step: float, points: list[Point]) -> dict[str, Any]:
    return {
        "check": check,
        "measurement": name,
        "step_seconds": step,
        "points": [
            {
                "at": iso(p.at),
                "samples": p.samples,
                "min": p.minimum,
                "mean": p.mean,
                "max": p.maximum,
            }
            for p in points
        ],
    }


def series_text(check: str, name: str, step: float, points: list[Point], tz: tzinfo) -> str:
    if not points:
        return f"{check} {name}: nothing recorded in that span"
    columns = [Column("FROM"), Column("SAMPLES", align="right"), Column("MIN", align="right"),
               Column("MEAN", align="right"), Column("MAX", align="right")]  # fmt: skip
    rows: list[list[Cell | str]] = [
        [human(p.at, tz), str(p.samples), _num(p.minimum), _num(p.mean), _num(p.maximum)]
        for p in points
    ]
    return f"{check} {name}, every {format_duration(step)}:\n" + render(columns, rows)


def _num(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e6 else f"{x:.3e}"


def measurements_text(measured: list[Summary]) -> str:
    columns = [Column("MEASUREMENT"), Column("LATEST", align="right"), Column("MIN", align="right"),
               Column("MEAN", align="right"), Column("MAX", align="right"),
               Column("SAMPLES", align="right")]  # fmt: skip
    rows: list[list[Cell | str]] = [
        [m.name, _num(m.latest) if m.latest is not None else "-", _num(m.minimum),
         _num(m.mean), _num(m.maximum), str(m.samples)]
        for m in measured
    ]  # fmt: skip
    return render(columns, rows) + "\n(one over time: opsbook history CHECK --metric NAME)"


def history_text(found: History, tz: tzinfo, measured: list[Summary] | None = None) -> str:
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
    text = head + "\n" + render(columns, rows)
    if measured:
        text += "\n\n" + measurements_text(measured)
    return text
