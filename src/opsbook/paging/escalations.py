"""Escalation rows: created once per incident, stopped once, moved on when a channel fails."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from opsbook.incidents.model import EntryKind, Incident
from opsbook.store.tables import escalations, timeline


def insert_escalation(
    conn: Connection, incident_id: str, now: datetime, paged: bool, reason: str | None
) -> bool:
    values = {
        "incident_id": incident_id,
        "level": 0,
        "repeats": 0,
        "next_at": now if paged else None,
        "started_at": now,
        "stopped_at": None if paged else now,
        "stop_reason": reason,
        "acked_sent": not paged,
        "resolved_sent": not paged,
    }
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        result = conn.execute(pg_insert(escalations).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        result = conn.execute(sqlite_insert(escalations).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)


def stop_escalation(conn: Connection, incident_id: str, now: datetime, reason: str) -> None:
    conn.execute(
        update(escalations)
        .where(escalations.c.incident_id == incident_id)
        .values(stopped_at=now, stop_reason=reason, next_at=None)
    )


def what_fired(conn: Connection, incident: Incident) -> str:
    """The latest alert entry of the incident, else its title."""
    row = conn.execute(
        select(timeline.c.body)
        .where(timeline.c.incident_id == incident.id, timeline.c.kind == EntryKind.ALERT.value)
        .order_by(timeline.c.id.desc())
        .limit(1)
    ).first()
    return str(row.body) if row else incident.title


def escalate_now(conn: Connection, incident_id: str, now: datetime) -> bool:
    """A channel that stays down: do not wait for the level's timeout."""
    return bool(
        conn.execute(
            update(escalations)
            .where(
                escalations.c.incident_id == incident_id,
                escalations.c.stopped_at.is_(None),
                escalations.c.next_at > now,
            )
            .values(next_at=now)
        ).rowcount
    )
