"""``opsbook jobs``: the calendar, run records, and a built-in action's report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from opsbook.output.table import Cell, Column, Style, render
from opsbook.status import Status
from opsbook.timefmt import human, iso
from opsbook.units import format_duration

if TYPE_CHECKING:
    from opsbook.jobs.records import Run
    from opsbook.routines.model import ActionReport

STATUS_STYLE: dict[Status | None, Style] = {
    Status.OK: "green",
    Status.WARNING: "yellow",
    Status.CRITICAL: "red",
    Status.UNKNOWN: "magenta",
    None: "dim",
}


@dataclass(frozen=True)
class Listed:
    name: str
    action: str
    schedule: str
    zone: str
    next_at: datetime
    last: Run | None
    running: Run | None


def _status(run: Run | None) -> Cell:
    if run is None:
        return Cell("never", "dim")
    name = run.status.name if run.status is not None else "RUNNING"
    return Cell(name, STATUS_STYLE[run.status])


def run_json(run: Run, *, output: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "job": run.job,
        "trigger": run.trigger.value,
        "slot": iso(run.slot),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "seconds": run.duration,
        "status": run.status.name if run.status is not None else None,
        "summary": run.summary,
        "actor": run.actor,
    }
    if output:
        data["output"] = run.output
        data["data"] = run.data
    return data


def jobs_json(listed: list[Listed]) -> dict[str, Any]:
    return {
        "jobs": [
            {
                "name": j.name,
                "action": j.action,
                "schedule": j.schedule,
                "timezone": j.zone,
                "next_at": iso(j.next_at),
                "last": run_json(j.last) if j.last else None,
                "running": run_json(j.running) if j.running else None,
            }
            for j in listed
        ]
    }


def jobs_text(listed: list[Listed], tz: tzinfo, now: datetime) -> str:
    if not listed:
        return "no jobs: (add the runbook's calendar under jobs:, see docs/jobs.md)"
    columns = [
        Column("JOB"),
        Column("ACTION"),
        Column("SCHEDULE"),
        Column("NEXT"),
        Column("LAST"),
        Column("WHEN"),
        Column("SUMMARY", wrap=True),
    ]
    rows: list[list[Cell | str]] = []
    for j in listed:
        last = j.running or j.last
        when = "" if last is None else format_duration((now - last.started_at).total_seconds())
        rows.append(
            [
                j.name,
                j.action,
                f"{j.schedule} ({j.zone})",
                human(j.next_at, tz),
                _status(last),
                f"{when} ago" if when else "",
                last.summary if last else "",
            ]
        )
    return render(columns, rows)


def history_text(runs: list[Run], tz: tzinfo) -> str:
    if not runs:
        return "no runs recorded"
    columns = [
        Column("ID", "right"),
        Column("JOB"),
        Column("TRIGGER"),
        Column("STARTED"),
        Column("TOOK", "right"),
        Column("STATUS"),
        Column("SUMMARY", wrap=True),
    ]
    rows: list[list[Cell | str]] = [
        [
            str(r.id),
            r.job,
            r.trigger.value,
            human(r.started_at, tz),
            format_duration(r.duration) if r.duration is not None else "…",
            _status(r),
            r.summary,
        ]
        for r in runs
    ]
    return render(columns, rows)


def run_text(run: Run, tz: tzinfo) -> str:
    status = run.status.name if run.status is not None else "RUNNING"
    took = f" in {format_duration(run.duration)}" if run.duration is not None else ""
    lines = [
        f"run {run.id} of job {run.job} ({run.trigger.value}, by {run.actor}): {status}{took}",
        f"started {human(run.started_at, tz, seconds=True)}",
        f"summary: {run.summary}",
    ]
    report = (run.data or {}).get("report")
    if isinstance(report, str) and report.strip():
        lines += ["", report.rstrip()]
    if run.output.strip():
        lines += ["", "output (last lines):", run.output.rstrip()]
    return "\n".join(lines)


def action_text(report: ActionReport) -> str:
    return report.report or f"{report.status.name}: {report.summary}"
