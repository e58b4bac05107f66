"""Silences and maintenance windows applied to alerts.

A suppressed alert still evaluates and is recorded (its events land in alert_events), but
its firing opens no incident. If it is still firing when the suppression ends, the incident
opens then. Alerts with an open incident get timeline entries when a window opens and
closes over them, and incident statistics leave those spans out of MTTR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from opsbook.alerts.model import Alert, AlertState, Event, EventKind, Source
from opsbook.alerts.silences import Silence, active_silences
from opsbook.alerts.windows import open_window
from opsbook.config.maintenance import WindowConfig

SUPPRESSIBLE = (EventKind.FIRING, EventKind.ESCALATED)


@dataclass(frozen=True)
class Suppression:
    kind: str  # "silence" or "maintenance"
    name: str  # "#3" or the window's name
    text: str  # for people: "silence #3 until 11:00 UTC: deploying"


class Suppressor:
    def __init__(self, windows: Sequence[WindowConfig], default_tz: str | None) -> None:
        self.windows = tuple(windows)
        self.default_tz = default_tz
        self.silences: list[Silence] = []

    def load(self, conn: Connection, now: datetime) -> None:
        self.silences = active_silences(conn, now)

    def of(self, alert: Alert, now: datetime) -> Suppression | None:
        for silence in self.silences:
            if silence.active(now) and silence.matches(alert.name, alert.fingerprint):
                until = silence.ends_at.strftime("%Y-%m-%d %H:%M UTC")
                return Suppression(
                    "silence",
                    f"#{silence.id}",
                    f"silence #{silence.id} until {until}: {silence.why}",
                )
        if alert.source is Source.CHECK and self.windows:
            window = open_window(self.windows, alert.name, now, self.default_tz)
            if window is not None:
                return Suppression("maintenance", window.name, f"maintenance window {window.name}")
        return None


def apply(
    alert: Alert, events: list[Event], suppression: Suppression | None, now: datetime
) -> tuple[Alert, list[Event], list[Event]]:
    """(alert, events to record, events that may touch incidents)."""
    if suppression is not None:
        blocked = [e for e in events if e.kind in SUPPRESSIBLE]
        if not blocked:
            return alert, events, events
        silenced = Event(
            EventKind.SILENCED,
            now,
            alert.level,
            alert.severity,
            suppression.text,
            {"by": suppression.kind, "name": suppression.name},
        )
        # The silence itself goes on an open incident's timeline; the firing does not page.
        passed = [e for e in events if e.kind not in SUPPRESSIBLE] + [silenced]
        return replace(alert, suppressed=True), [*events, silenced], passed
    if alert.suppressed and alert.state is AlertState.FIRING:
        # The silence or window ended and it still fires: now it pages.
        late = Event(
            EventKind.FIRING,
            now,
            alert.level,
            alert.severity,
            alert.summary,
            {"after": "suppression ended"},
        )
        return replace(alert, suppressed=False), [*events, late], [*events, late]
    if alert.suppressed and alert.state is AlertState.INACTIVE:
        return replace(alert, suppressed=False), events, events
    return alert, events, events
