"""Reading timelines and action items; adding and completing action items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, Row, func, insert, select, update

from opsbook.errors import IncidentError, UsageError
from opsbook.incidents.lifecycle import Clock, utcnow
from opsbook.incidents.model import ACTIVE_PHASES, ActionItem, ActionKind, Entry, EntryKind
from opsbook.incidents.rows import append_entry, lock_incident
from opsbook.store.tables import action_items, incidents, timeline
from opsbook.store.tx import begin, read


def open_counts(engine: Engine) -> dict[int, int]:
    """Open (not yet resolved) incidents by severity."""
    with read(engine) as conn:
        rows = conn.execute(
            select(incidents.c.severity, func.count())
            .where(incidents.c.phase.in_([p.value for p in ACTIVE_PHASES]))
            .group_by(incidents.c.severity)
        )
        return {int(sev): int(n) for sev, n in rows}


def note_open(engine: Engine, at: datetime, actor: str, kind: EntryKind, body: str,
              data: dict[str, Any]) -> int:  # fmt: skip
    """The same entry on every open incident's timeline (a change of who pages them)."""
    with begin(engine) as conn:
        ids = (
            conn.execute(
                select(incidents.c.id).where(
                    incidents.c.phase.in_([p.value for p in ACTIVE_PHASES])
                )
            )
            .scalars()
            .all()
        )
        for incident_id in ids:
            append_entry(conn, incident_id, at, actor, kind, body, data)
    return len(ids)


def note_incident(engine: Engine, incident_id: str, at: datetime, actor: str, kind: EntryKind,
                  body: str, data: dict[str, Any]) -> None:  # fmt: skip
    """One entry on one incident's timeline (what opsbook did for it)."""
    with begin(engine) as conn:
        lock_incident(conn, incident_id)
        append_entry(conn, incident_id, at, actor, kind, body, data)


def read_timeline(engine: Engine, incident_ids: Sequence[str]) -> dict[str, list[Entry]]:
    """Every entry of each incident, oldest first."""
    out: dict[str, list[Entry]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return out
    query = (
        select(timeline)
        .where(timeline.c.incident_id.in_(list(incident_ids)))
        .order_by(timeline.c.at, timeline.c.id)
    )
    with read(engine) as conn:
        for row in conn.execute(query):
            out[row.incident_id].append(
                Entry(
                    row.id,
                    row.incident_id,
                    row.at,
                    row.actor,
                    EntryKind(row.kind),
                    row.body,
                    row.data or {},
                )
            )
    return out


class ActionItems:
    def __init__(self, engine: Engine, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def add(
        self,
        incident_id: str,
        text: str,
        actor: str,
        *,
        owner: str | None = None,
        due: date | None = None,
        kind: ActionKind = ActionKind.FIX,
    ) -> ActionItem:
        text = text.strip()
        if not text:
            raise UsageError("an action item needs text: opsbook incident action add ID '…'")
        now = self.clock()
        with begin(self.engine) as conn:
            lock_incident(conn, incident_id)
            new_id = conn.execute(
                insert(action_items)
                .values(
                    incident_id=incident_id,
                    text=text,
                    kind=kind.value,
                    owner=owner,
                    due=due,
                    created_at=now,
                    created_by=actor,
                )
                .returning(action_items.c.id)
            ).scalar_one()
            detail = "".join(
                [f", owner {owner}" if owner else "", f", due {due.isoformat()}" if due else ""]
            )
            append_entry(
                conn,
                incident_id,
                now,
                actor,
                EntryKind.ACTION_ADDED,
                f"action #{new_id} ({kind.value}): {text}{detail}",
                {"action_id": new_id, "kind": kind.value},
            )
        return self.get(new_id)

    def done(self, action_id: int, actor: str) -> ActionItem:
        now = self.clock()
        with begin(self.engine) as conn:
            row = conn.execute(
                select(action_items).where(action_items.c.id == action_id).with_for_update()
            ).first()
            if row is None:
                raise IncidentError(
                    f"no action item #{action_id} (see opsbook incident action list)"
                )
            if row.done_at is not None:
                raise IncidentError(
                    f"action #{action_id} was already done by {row.done_by} "
                    f"on {row.done_at:%Y-%m-%d}"
                )
            conn.execute(
                update(action_items)
                .where(action_items.c.id == action_id)
                .values(done_at=now, done_by=actor)
            )
            append_entry(
                conn,
                row.incident_id,
                now,
                actor,
                EntryKind.ACTION_DONE,
                f"action #{action_id} done: {row.text}",
                {"action_id": action_id},
            )
        return self.get(action_id)

    def get(self, action_id: int) -> ActionItem:
        with read(self.engine) as conn:
            row = conn.execute(select(action_items).where(action_items.c.id == action_id)).first()
        if row is None:
            raise IncidentError(f"no action item #{action_id}")
        return _item(row)

    def list(
        self,
        *,
        open_only: bool = False,
        overdue_on: date | None = None,
        incident_id: str | None = None,
    ) -> list[ActionItem]:
        query = select(action_items).order_by(action_items.c.id)
        if open_only or overdue_on is not None:
            query = query.where(action_items.c.done_at.is_(None))
        if overdue_on is not None:
            query = query.where(action_items.c.due.is_not(None), action_items.c.due < overdue_on)
        if incident_id is not None:
            query = query.where(action_items.c.incident_id == incident_id)
        with read(self.engine) as conn:
            return [_item(row) for row in conn.execute(query)]


def _item(row: Row[Any]) -> ActionItem:
    return ActionItem(
        id=row.id,
        incident_id=row.incident_id,
        text=row.text,
        kind=ActionKind(row.kind),
        owner=row.owner,
        due=row.due,
        created_at=row.created_at,
        created_by=row.created_by,
        done_at=row.done_at,
        done_by=row.done_by,
    )


def is_overdue(item: ActionItem, today: date) -> bool:
    return item.is_open and item.due is not None and item.due < today
