"""Alerts and their events in the store: loaded at start, saved at every change, so a
restart (kill -9 included) resumes every pending timer and firing alert where it was."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select

from opsbook.alerts.model import Alert, AlertState, Event, Source
from opsbook.results import Result
from opsbook.status import Status
from opsbook.store.tables import alert_events, alerts, check_metrics, check_results
from opsbook.store.tx import read
from opsbook.store.upsert import upsert


@dataclass(frozen=True)
class RecordedEvent:
    """An alert event as the store keeps it (``opsbook alerts --events``)."""

    at: datetime
    fingerprint: str
    kind: str
    summary: str
    incident_id: str | None


def alerts_and_events(engine: Engine, events: int = 0) -> tuple[list[Alert], list[RecordedEvent]]:
    """Every alert (by state, then name), and the newest ``events`` events, newest first."""
    with read(engine) as conn:
        found = sorted(load_alerts(conn).values(), key=lambda a: (a.state.value, a.name))
        newest = select(alert_events).order_by(alert_events.c.id.desc()).limit(events)
        rows: Sequence[Row[Any]] = conn.execute(newest).all() if events else []
        recent = [
            RecordedEvent(r.at, r.fingerprint, r.kind, r.summary, r.incident_id) for r in rows
        ]
    return found, recent


def load_alerts(conn: Connection) -> dict[str, Alert]:
    return {row.fingerprint: _alert(row) for row in conn.execute(select(alerts))}


def save_alert(conn: Connection, alert: Alert) -> None:
    upsert(conn, alerts, _row(alert), ["fingerprint"])


def record_events(conn: Connection, alert: Alert, events: Sequence[Event]) -> None:
    if not events:
        return
    conn.execute(
        insert(alert_events),
        [
            {
                "fingerprint": alert.fingerprint,
                "at": e.at,
                "kind": e.kind.value,
                "level": int(e.level),
                "severity": e.severity,
                "summary": e.summary,
                "incident_id": alert.incident_id,
                "data": e.data,
            }
            for e in events
        ],
    )


def _row(alert: Alert) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "source": alert.source.value,
        "name": alert.name,
        "labels": alert.labels,
        "state": alert.state.value,
        "level": int(alert.level),
        "severity": alert.severity,
        "summary": alert.summary,
        "pending_since": alert.pending_since,
        "firing_since": alert.firing_since,
        "last_bad_at": alert.last_bad_at,
        "resolved_at": alert.resolved_at,
        "incident_id": alert.incident_id,
        "flapping": alert.flapping,
        "flips": [t.isoformat() for t in alert.flips],
        "last_status": int(alert.last_status) if alert.last_status is not None else None,
        "updated_at": alert.updated_at,
        "suppressed": alert.suppressed,
    }


def _alert(row: Row[Any]) -> Alert:
    return Alert(
        fingerprint=row.fingerprint,
        source=Source(row.source),
        name=row.name,
        labels=dict(row.labels or {}),
        state=AlertState(row.state),
        level=Status(row.level),
        severity=row.severity,
        summary=row.summary,
        pending_since=row.pending_since,
        firing_since=row.firing_since,
        last_bad_at=row.last_bad_at,
        resolved_at=row.resolved_at,
        incident_id=row.incident_id,
        flapping=bool(row.flapping),
        flips=tuple(datetime.fromisoformat(t) for t in (row.flips or [])),
        last_status=Status(row.last_status) if row.last_status is not None else None,
        updated_at=row.updated_at,
        suppressed=bool(row.suppressed),
    )


MAX_METRICS = 500  # per result: a log check's routes are capped before this
MAX_NAME = 200


def store_results(conn: Connection, results: Sequence[Result]) -> None:
    if not results:
        return
    conn.execute(
        insert(check_results),
        [
            {
                "check_name": r.name,
                "at": r.started_at,
                "status": int(r.status),
                "value": r.value,
                "duration_ms": round(r.duration * 1000, 3),
                "message": r.message,
            }
            for r in results
        ],
    )
    measured = [
        {"check_name": r.name, "name": m.name[:MAX_NAME], "at": r.started_at, "value": m.value}
        for r in results
        for m in r.metrics[:MAX_METRICS]
        if m.value is not None and math.isfinite(m.value)
    ]
    if measured:
        conn.execute(insert(check_metrics), measured)
