"""Incidents as JSON (stable shapes scripts rely on) and as tables for people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from opsbook.incidents.clocks import Response, SeverityStats, response_state
from opsbook.incidents.model import ActionItem, Entry, Incident, severity_label
from opsbook.incidents.records import is_overdue
from opsbook.incidents.severity import Severity, SeverityPolicy
from opsbook.output.table import Cell, Column, Style, render
from opsbook.timefmt import human, iso
from opsbook.units import format_config_duration, format_duration

_RESPONSE_STYLE: dict[Response, Style] = {
    Response.BREACHED: "red",
    Response.AT_RISK: "yellow",
    Response.LATE: "yellow",
    Response.MET: "green",
    Response.RUNNING: "",
}
_SEV_STYLE: dict[int, Style] = {1: "red", 2: "yellow", 3: "", 4: "dim"}


def incident_dict(incident: Incident, policy: SeverityPolicy, now: datetime) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "service": incident.service,
        "severity": severity_label(incident.severity),
        "phase": incident.phase.value,
        "commander": incident.commander,
        "opened_at": iso(incident.opened_at),
        "opened_by": incident.opened_by,
        "acknowledged_at": iso(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": iso(incident.resolved_at),
        "reviewed_at": iso(incident.reviewed_at),
        "response_due_at": iso(incident.response_due_at),
        "response": response_state(incident, policy, now).value,
        "report": dict(incident.fields),
    }


def entry_dict(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": entry.actor,
        "kind": entry.kind.value,
        "body": entry.body,
        "data": entry.data,
    }


def action_dict(item: ActionItem, today: date) -> dict[str, Any]:
    return {
        "id": item.id,
        "incident_id": item.incident_id,
        "text": item.text,
        "kind": item.kind.value,
        "owner": item.owner,
        "due": item.due.isoformat() if item.due else None,
        "created_at": iso(item.created_at),
        "created_by": item.created_by,
        "done_at": iso(item.done_at),
        "done_by": item.done_by,
        "overdue": is_overdue(item, today),
    }


def severity_dict(severity: Severity) -> dict[str, Any]:
    return {
        "severity": severity.label,
        "level": severity.level,
        "name": severity.name,
        "definition": severity.definition,
        "response": format_config_duration(severity.response),
        "response_s": severity.response,
        "communication": severity.communication,
        "escalation": severity.escalation,
    }


def stats_dict(rows: Sequence[SeverityStats], since: datetime) -> dict[str, Any]:
    return {
        "since": iso(since),
        "severities": [
            {
                "severity": severity_label(s.severity),
                "count": s.count,
                "mtta_median_s": s.mtta_median,
                "mtta_p90_s": s.mtta_p90,
                "mttr_median_s": s.mttr_median,
                "mttr_p90_s": s.mttr_p90,
                "acked_within_target": s.acked_within_target,
                "open_breaches": s.open_breaches,
            }
            for s in rows
        ],
    }


def incidents_table(
    items: Sequence[Incident], policy: SeverityPolicy, now: datetime, tz: tzinfo
) -> str:
    columns = [
        Column("ID"),
        Column("SEV"),
        Column("PHASE"),
        Column("RESPONSE"),
        Column("OPENED"),
        Column("TITLE", wrap=True),
    ]
    rows: list[list[Cell | str]] = []
    for i in items:
        state = response_state(i, policy, now)
        label = state.value
        if state in (Response.RUNNING, Response.AT_RISK):
            left = (i.response_due_at - now).total_seconds()
            label += f" ({format_duration(left)} left)"
        elif state is Response.BREACHED:
            label += f" ({format_duration((now - i.response_due_at).total_seconds())} over)"
        rows.append(
            [
                i.id,
                Cell(severity_label(i.severity), _SEV_STYLE[i.severity]),
                i.phase.value,
                Cell(label, _RESPONSE_STYLE[state]),
                human(i.opened_at, tz),
                i.title,
            ]
        )
    return render(columns, rows)


def incident_text(
    incident: Incident,
    entries: Sequence[Entry],
    actions: Sequence[ActionItem],
    policy: SeverityPolicy,
    now: datetime,
    tz: tzinfo,
) -> str:
    sev = policy.get(incident.severity)
    state = response_state(incident, policy, now)
    lines = [
        f"{incident.id}  {sev.label} {sev.name}  {incident.phase.value}  {incident.title}",
        f"service {incident.service}; commander {incident.commander or '(none)'}; "
        f"opened {human(incident.opened_at, tz)} by {incident.opened_by}",
        f"response: {state.value} (due {human(incident.response_due_at, tz)}, "
        f"target {format_duration(sev.response)})",
        "",
    ]
    columns = [Column("TIME"), Column("WHO"), Column("WHAT"), Column("", wrap=True)]
    rows: list[list[Cell | str]] = [
        [human(e.at, tz, seconds=True), e.actor, e.kind.value, e.body] for e in entries
    ]
    lines.append(render(columns, rows))
    if actions:
        today = now.date()
        lines += ["", "action items:"]
        for a in actions:
            status = "done" if a.done_at else ("OVERDUE" if is_overdue(a, today) else "open")
            due = f", due {a.due}" if a.due else ""
            lines.append(f"  #{a.id} [{status}] {a.text} ({a.kind.value}, {a.owner or '—'}{due})")
    return "\n".join(lines)


def actions_table(items: Sequence[ActionItem], today: date) -> str:
    columns = [
        Column("#", align="right"),
        Column("INCIDENT"),
        Column("KIND"),
        Column("OWNER"),
        Column("DUE"),
        Column("STATUS"),
        Column("ACTION", wrap=True),
    ]
    rows: list[list[Cell | str]] = []
    for a in items:
        if a.done_at is not None:
            status = Cell("done", "green")
        elif is_overdue(a, today):
            status = Cell("overdue", "red")
        else:
            status = Cell("open")
        rows.append(
            [
                str(a.id),
                a.incident_id,
                a.kind.value,
                a.owner or "—",
                a.due.isoformat() if a.due else "—",
                status,
                a.text,
            ]
        )
    return render(columns, rows)


def stats_table(rows: Sequence[SeverityStats]) -> str:
    def d(seconds: float | None) -> str:
        return format_duration(seconds) if seconds is not None else "—"

    columns = [
        Column("SEV"),
        Column("COUNT", align="right"),
        Column("MTTA p50", align="right"),
        Column("MTTA p90", align="right"),
        Column("MTTR p50", align="right"),
        Column("MTTR p90", align="right"),
        Column("ACKED IN TARGET", align="right"),
        Column("OPEN BREACHES", align="right"),
    ]
    out: list[list[Cell | str]] = []
    for s in rows:
        share = f"{s.acked_within_target * 100:.0f}%" if s.acked_within_target is not None else "—"
        breaches = Cell(str(s.open_breaches), "red" if s.open_breaches else "")
        out.append(
            [
                severity_label(s.severity),
                str(s.count),
                d(s.mtta_median),
                d(s.mtta_p90),
                d(s.mttr_median),
                d(s.mttr_p90),
                share,
                breaches,
            ]
        )
    return render(columns, out)


def severities_table(policy: SeverityPolicy) -> str:
    columns = [
        Column("SEV"),
        Column("NAME"),
        Column("RESPOND", align="right"),
        Column("DEFINITION", wrap=True),
        Column("WHO IS TOLD"),
        Column("ESCALATION"),
    ]
    rows: list[list[Cell | str]] = [
        [
            Cell(s.label, _SEV_STYLE[s.level]),
            s.name,
            format_duration(s.response),
            s.definition,
            s.communication,
            s.escalation,
        ]
        for s in policy.levels
    ]
    return render(columns, rows)
