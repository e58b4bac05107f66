"""``opsbook actions``: the configured actions and the actions log."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from opsbook.output.jobs import STATUS_STYLE
from opsbook.output.table import Cell, Column, render
from opsbook.timefmt import human, iso
from opsbook.units import format_duration

if TYPE_CHECKING:
    from opsbook.config.actions import ActionConfig
    from opsbook.playbook.records import ActionRun


def _command(action: ActionConfig) -> str:
    return str(action.command) if action.shell else " ".join(action.argv)


def actions_json(actions: dict[str, ActionConfig]) -> dict[str, Any]:
    return {
        "actions": [
            {
                "name": name,
                "command": _command(a),
                "description": a.description,
                "roles": [r.value for r in a.roles],
                "confirm": a.confirm,
                "suggest_for": list(a.suggest_for),
                "timeout_s": float(a.timeout),
                "auto": None
                if a.auto is None
                else {
                    "when": list(a.auto.when),
                    "for_s": float(a.auto.for_),
                    "once_per_s": float(a.auto.once_per),
                    "sev1": a.auto.sev1,
                },
            }
            for name, a in actions.items()
        ]
    }


def actions_text(actions: dict[str, ActionConfig]) -> str:
    if not actions:
        return "no actions: (add the runbook's containment steps under actions:, docs/actions.md)"
    columns = [
        Column("ACTION"),
        Column("RUNS", wrap=True),
        Column("WHO"),
        Column("SUGGESTED FOR"),
        Column("AUTO"),
    ]
    rows: list[list[Cell | str]] = [
        [
            name,
            _command(a),
            ",".join(r.value for r in a.roles),
            ",".join(a.suggest_for) or "–",
            f"after {format_duration(a.auto.for_)} of {','.join(a.auto.when)}" if a.auto else "–",
        ]
        for name, a in actions.items()
    ]
    return render(columns, rows)


def run_json(run: ActionRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "action": run.action,
        "incident_id": run.incident_id,
        "trigger": run.trigger.value,
        "actor": run.actor,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "seconds": run.seconds,
        "status": run.status.name if run.status is not None else None,
        "exit_code": run.exit_code,
        "summary": run.summary,
    }


def runs_text(runs: list[ActionRun], tz: tzinfo) -> str:
    if not runs:
        return "no action has run yet"
    columns = [
        Column("ID", "right"),
        Column("ACTION"),
        Column("INCIDENT"),
        Column("BY"),
        Column("STARTED"),
        Column("STATUS"),
        Column("SUMMARY", wrap=True),
    ]
    rows: list[list[Cell | str]] = [
        [
            str(r.id),
            r.action,
            r.incident_id or "–",
            r.actor if r.trigger.value == "manual" else f"{r.actor} ({r.trigger.value})",
            human(r.started_at, tz),
            Cell(r.status.name if r.status is not None else "RUNNING", STATUS_STYLE[r.status]),
            r.summary,
        ]
        for r in runs
    ]
    return render(columns, rows)
