"""Alerts and silences as JSON (stable shapes) and as tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from opsbook.output.table import Cell, Column, Style, render
from opsbook.timefmt import human, iso

if TYPE_CHECKING:
    from opsbook.alerts.model import Alert
    from opsbook.alerts.silences import Silence
    from opsbook.alerts.store import RecordedEvent

_STATE_STYLE: dict[str, Style] = {"firing": "red", "pending": "yellow"}


def alert_json(a: Alert) -> dict[str, Any]:
    return {
        "fingerprint": a.fingerprint,
        "source": a.source.value,
        "name": a.name,
        "labels": a.labels,
        "state": a.state.value,
        "level": a.level.name,
        "severity": f"SEV-{a.severity}" if a.severity else None,
        "summary": a.summary,
        "pending_since": iso(a.pending_since),
        "firing_since": iso(a.firing_since),
        "incident_id": a.incident_id,
        "flapping": a.flapping,
        "suppressed": a.suppressed,
    }


def event_json(e: RecordedEvent) -> dict[str, Any]:
    return {
        "at": iso(e.at),
        "fingerprint": e.fingerprint,
        "kind": e.kind,
        "summary": e.summary,
        "incident_id": e.incident_id,
    }


def alerts_json(alerts: Sequence[Alert], events: Sequence[RecordedEvent] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"alerts": [alert_json(a) for a in alerts]}
    if events is not None:
        doc["events"] = [event_json(e) for e in events]
    return doc


def alerts_table(alerts: Sequence[Alert], tz: tzinfo) -> str:
    rows: list[list[Cell | str]] = []
    for a in alerts:
        state = a.state.value + (" (flapping)" if a.flapping else "")
        state += " (silenced)" if a.suppressed else ""
        since = a.firing_since or a.pending_since
        rows.append(
            [
                a.name,
                Cell(state, _STATE_STYLE.get(a.state.value, "")),
                f"SEV-{a.severity}" if a.severity else "—",
                human(since, tz) if since else "",
                a.incident_id or "—",
                a.summary,
            ]
        )
    columns = [Column("ALERT"), Column("STATE"), Column("SEV"), Column("SINCE")]
    columns += [Column("INCIDENT"), Column("SUMMARY", wrap=True)]
    return render(columns, rows)


def event_line(e: RecordedEvent, tz: tzinfo) -> str:
    return f"{human(e.at, tz, seconds=True)}  {e.fingerprint}  {e.kind}: {e.summary}"


def silence_json(s: Silence) -> dict[str, Any]:
    return {
        "id": s.id,
        "matcher": s.matcher,
        "starts_at": iso(s.starts_at),
        "ends_at": iso(s.ends_at),
        "why": s.why,
        "created_by": s.created_by,
        "expired_at": iso(s.expired_at),
        "expired_by": s.expired_by,
    }


def silences_table(silences: Sequence[Silence], tz: tzinfo) -> str:
    return render(
        [
            Column("#", align="right"),
            Column("MATCHES"),
            Column("UNTIL"),
            Column("BY"),
            Column("WHY", wrap=True),
        ],
        [[str(s.id), s.matcher, human(s.ends_at, tz), s.created_by, s.why] for s in silences],
    )
