"""Alerts posted to a follower's intake: stored at once (the sender gets its 200), processed by
the leader within a second. Re-processing after a leader died mid-way changes nothing: an
alert firing since the same time is the same episode (alerts/intake.apply_external)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from opsbook.alerts.intake import ExternalAlert
from opsbook.alerts.model import Source
from opsbook.store.tables import intake_queue
from opsbook.store.tx import begin, read

BATCH = 500


def relay(engine: Engine, alerts: Sequence[ExternalAlert], by: str, now: datetime) -> int:
    rows = [{"received_at": now, "received_by": by, "alert": _encode(a)} for a in alerts]
    if rows:
        with begin(engine) as conn:
            conn.execute(insert(intake_queue), rows)
    return len(rows)


def waiting(engine: Engine) -> list[tuple[int, ExternalAlert]]:
    with read(engine) as conn:
        rows = conn.execute(
            select(intake_queue.c.id, intake_queue.c.alert).order_by(intake_queue.c.id).limit(BATCH)
        ).all()
    return [(int(r.id), _decode(r.alert)) for r in rows]


def done(engine: Engine, ids: Sequence[int]) -> None:
    with begin(engine) as conn:
        conn.execute(delete(intake_queue).where(intake_queue.c.id.in_(list(ids))))


def _encode(alert: ExternalAlert) -> dict[str, Any]:
    out = asdict(alert)
    out["source"] = alert.source.value
    out["at"] = alert.at.isoformat()
    out["reported_at"] = alert.reported_at.isoformat() if alert.reported_at else None
    return out


def _decode(data: dict[str, Any]) -> ExternalAlert:
    reported = data.get("reported_at")
    return ExternalAlert(
        fingerprint=data["fingerprint"],
        source=Source(data["source"]),
        name=data["name"],
        labels=dict(data["labels"]),
        action=data["action"],
        severity_word=data["severity_word"],
        summary=data["summary"],
        at=datetime.fromisoformat(data["at"]),
        reported_at=datetime.fromisoformat(reported) if reported else None,
    )
