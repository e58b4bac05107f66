"""Row-level helpers shared by the incident services: locking, appending, mapping rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from opsbook.errors import IncidentError
from opsbook.incidents.model import HUMAN_FIELDS, ActionKind, EntryKind, Incident, Phase
from opsbook.store.tables import action_items, incident_counters, incidents, timeline


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def next_number(conn: Connection, day: str) -> int:
    """Claim the next number of ``day`` atomically (an upsert with RETURNING)."""
    bump = {"last": incident_counters.c.last + 1}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(incident_counters).values(day=day, last=1)
        claimed = conn.execute(
            pg.on_conflict_do_update(index_elements=["day"], set_=bump).returning(
                incident_counters.c.last
            )
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(incident_counters).values(day=day, last=1)
        claimed = conn.execute(
            lite.on_conflict_do_update(index_elements=["day"], set_=bump).returning(
                incident_counters.c.last
            )
        )
    return int(claimed.scalar_one())


def lock_incident(conn: Connection, incident_id: str) -> Row[Any]:
    row = conn.execute(
        select(incidents).where(incidents.c.id == incident_id).with_for_update()
    ).first()
    if row is None:
        raise IncidentError(unknown(incident_id))
    return row


def get_incident(conn: Connection, incident_id: str) -> Incident:
    row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
    if row is None:
        raise IncidentError(unknown(incident_id))
    return to_incident(row)


def severity_of(conn: Connection, incident_id: str) -> int:
    return int(get_incident(conn, incident_id).severity)


def unknown(incident_id: str) -> str:
    return (
        f"no incident {incident_id!r} (IDs look like INC-2026-11-28-1; see opsbook incident list)"
    )


def require_open(row: Row[Any], verb: str) -> None:
    if not Phase(row.phase).is_open:
        raise IncidentError(
            f"{row.id} is {row.phase}; it cannot be {verb} (reopen it first: "
            f"opsbook incident reopen {row.id})"
        )


def append_entry(
    conn: Connection,
    incident_id: str,
    at: datetime,
    actor: str,
    kind: EntryKind,
    body: str,
    data: dict[str, Any],
) -> None:
    conn.execute(
        insert(timeline).values(
            incident_id=incident_id, at=at, actor=actor, kind=kind.value, body=body, data=data
        )
    )


def to_incident(row: Row[Any]) -> Incident:
    return Incident(
        id=row.id,
        title=row.title,
        service=row.service,
        severity=row.severity,
        phase=Phase(row.phase),
        commander=row.commander,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        response_due_at=row.response_due_at,
        resolved_at=row.resolved_at,
        reviewed_at=row.reviewed_at,
        fields={name: getattr(row, name) for name in HUMAN_FIELDS},
    )


RUNBOOK_ACTION_DAYS = 7
MACHINE = "opsbook"  # the actor of everything opsbook does by itself


def touched_by_people(conn: Connection, incident_id: str, machine: str = MACHINE) -> bool:
    """Whether anyone but opsbook itself wrote on the incident (opened, acknowledged, noted…)."""
    return (
        conn.execute(
            select(timeline.c.id)
            .where(timeline.c.incident_id == incident_id, timeline.c.actor != machine)
            .limit(1)
        ).first()
        is not None
    )


def ensure_runbook_action(conn: Connection, row: Row[Any], now: datetime, actor: str) -> None:
    """The runbook: "update it after every incident". One open item per incident that
    people worked: one opsbook opened and resolved by itself (a Redis that flapped for a
    minute) taught nobody anything, and four identical items would only bury the real ones."""
    if actor == MACHINE and not touched_by_people(conn, row.id):
        return
    exists = conn.execute(
        select(action_items.c.id).where(
            action_items.c.incident_id == row.id,
            action_items.c.kind == ActionKind.RUNBOOK.value,
        )
    ).first()
    if exists:
        return
    owner = row.commander or actor
    due: date = (now + timedelta(days=RUNBOOK_ACTION_DAYS)).date()
    text = f"Update the runbook with what {row.id} taught"
    new_id = conn.execute(
        insert(action_items)
        .values(
            incident_id=row.id,
            text=text,
            kind=ActionKind.RUNBOOK.value,
            owner=owner,
            due=due,
            created_at=now,
            created_by=actor,
        )
        .returning(action_items.c.id)
    ).scalar_one()
    append_entry(
        conn,
        row.id,
        now,
        actor,
        EntryKind.ACTION_ADDED,
        f"action #{new_id} ({ActionKind.RUNBOOK.value}): {text}, owner {owner}, due {due}",
        {"action_id": new_id, "kind": ActionKind.RUNBOOK.value},
    )
