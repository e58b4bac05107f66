"""The incident lifecycle: every change is a row update plus a timeline entry, in one
transaction, on a locked row.

Each write loads the incident ``FOR UPDATE`` (PostgreSQL; on SQLite the store's BEGIN
IMMEDIATE already serialises writers), checks the move is legal, then updates and appends.
An illegal move raises IncidentError inside the transaction, so nothing changes.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, func, insert, or_, select, update

from opsbook.errors import IncidentError, UsageError
from opsbook.incidents.model import (
    ACTIVE_PHASES,
    HUMAN_FIELDS,
    EntryKind,
    Incident,
    Phase,
    severity_label,
)
from opsbook.incidents.rows import (
    append_entry,
    ensure_runbook_action,
    get_incident,
    lock_incident,
    next_number,
    require_open,
    to_incident,
    touched_by_people,
    when,
)
from opsbook.incidents.severity import SeverityPolicy
from opsbook.store.tables import incidents, timeline
from opsbook.store.tx import begin, read
from opsbook.units import format_duration

Clock = Callable[[], datetime]
# What a post-incident review must have established before the incident is "reviewed".
REVIEW_FIELDS = ("summary", "users_affected", "business_impact", "root_cause")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Incidents:
    def __init__(self, engine: Engine, policy: SeverityPolicy, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock

    # ------------------------------------------------------------------ opening

    def open(
        self,
        *,
        title: str,
        severity: int,
        service: str,
        actor: str,
        summary: str | None = None,
    ) -> Incident:
        with begin(self.engine) as conn:
            incident_id = self.open_in(
                conn,
                title=title,
                severity=severity,
                service=service,
                actor=actor,
                summary=summary,
            )
        return self.get(incident_id)

    def open_in(
        self,
        conn: Connection,
        *,
        title: str,
        severity: int,
        service: str,
        actor: str,
        summary: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> str:
        """Open inside the caller's transaction (the daemon opens and links an alert at once)."""
        title = title.strip()
        if not title:
            raise UsageError("an incident needs a title: --title 'what is wrong'")
        level = self.policy.get(severity)
        now = self.clock()
        number = next_number(conn, now.strftime("%Y-%m-%d"))
        incident_id = f"INC-{now:%Y-%m-%d}-{number}"
        conn.execute(
            insert(incidents).values(
                id=incident_id,
                title=title,
                service=service,
                severity=severity,
                phase=Phase.TRIAGE.value,
                opened_at=now,
                opened_by=actor,
                response_due_at=now + timedelta(seconds=level.response),
                summary=summary,
            )
        )
        body = f"{level.label} opened: {title}"
        entry = {"severity": severity, "title": title, "service": service, **(data or {})}
        append_entry(conn, incident_id, now, actor, EntryKind.OPENED, body, entry)
        if summary:
            append_entry(
                conn,
                incident_id,
                now,
                actor,
                EntryKind.EDITED,
                "summary set",
                {"field": "summary", "value": summary},
            )
        return incident_id

    def is_open_in(self, conn: Connection, incident_id: str) -> bool:
        phase = conn.execute(
            select(incidents.c.phase).where(incidents.c.id == incident_id)
        ).scalar_one_or_none()
        return phase is not None and Phase(phase).is_open

    def untouched_in(self, conn: Connection, incident_id: str, machine: str) -> bool:
        """Open, still in triage, unacknowledged, and written to by ``machine`` alone: an
        incident no person has started on, which a source's resolution may close."""
        row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).one_or_none()
        if row is None or row.phase != Phase.TRIAGE.value or row.acknowledged_at is not None:
            return False
        return not touched_by_people(conn, incident_id, machine)

    # ------------------------------------------------------------------ moves

    def acknowledge(self, incident_id: str, actor: str) -> Incident:
        with begin(self.engine) as conn:
            row = lock_incident(conn, incident_id)
            if row.acknowledged_at is not None:
                raise IncidentError(
                    f"{incident_id} was already acknowledged by {row.acknowledged_by} "
                    f"at {when(row.acknowledged_at)}"
                )
            require_open(row, "acknowledged")
            self._ack(conn, row, self.clock(), actor, "acknowledged")
        return self.get(incident_id)

    def acknowledge_in(self, conn: Connection, incident_id: str, actor: str) -> bool:
        """Acknowledge if not yet acknowledged (a repeated ack from a sender is no error)."""
        row = lock_incident(conn, incident_id)
        if row.acknowledged_at is not None or not Phase(row.phase).is_open:
            return False
        self._ack(conn, row, self.clock(), actor, "acknowledged")
        return True

    def note(self, incident_id: str, text: str, actor: str) -> None:
        text = text.strip()
        if not text:
            raise UsageError("a note needs text: opsbook incident note ID 'what happened'")
        with begin(self.engine) as conn:
            lock_incident(conn, incident_id)
            append_entry(conn, incident_id, self.clock(), actor, EntryKind.NOTE, text, {})

    def change_severity(self, incident_id: str, level: int, why: str, actor: str) -> Incident:
        with begin(self.engine) as conn:
            self.change_severity_in(conn, incident_id, level, why, actor)
        return self.get(incident_id)

    def change_severity_in(
        self, conn: Connection, incident_id: str, level: int, why: str, actor: str
    ) -> None:
        new = self.policy.get(level)
        if not why.strip():
            raise UsageError("say why the severity changes: --why '…'")
        now = self.clock()
        row = lock_incident(conn, incident_id)
        require_open(row, "re-graded")
        if row.severity == level:
            raise IncidentError(f"{incident_id} is already {new.label}")
        raised = level < row.severity
        # A raise restarts the response clock now; a lowering keeps the clock's start
        # (the opening, or the last raise) and applies the new, longer target.
        start = now if raised else self._clock_start(conn, row)
        due = start + timedelta(seconds=new.response)
        conn.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(severity=level, response_due_at=due)
        )
        verb = "raised" if raised else "lowered"
        body = f"{verb} {severity_label(row.severity)} → {new.label}: {why.strip()}"
        data = {
            "from": row.severity,
            "to": level,
            "why": why.strip(),
            "response_due_at": due.isoformat(),
        }
        append_entry(conn, incident_id, now, actor, EntryKind.SEVERITY, body, data)

    def set_phase(
        self, incident_id: str, phase: Phase, actor: str, *, force: bool = False
    ) -> Incident:
        """Move along the runbook's process. ``reviewed`` needs the review written (the
        report's REVIEW_FIELDS); ``force`` records that it was marked reviewed without."""
        if phase is Phase.RESOLVED:
            raise UsageError(f"resolve with: opsbook incident resolve {incident_id} --why '…'")
        now = self.clock()
        with begin(self.engine) as conn:
            row = lock_incident(conn, incident_id)
            current = Phase(row.phase)
            if current is phase:
                raise IncidentError(f"{incident_id} is already {phase.value}")
            values: dict[str, Any] = {"phase": phase.value}
            if phase is Phase.REVIEWED:
                if current is not Phase.RESOLVED:
                    raise IncidentError(
                        f"{incident_id} is {current.value}; only a resolved incident is reviewed"
                    )
                values["reviewed_at"] = now
                missing = [f for f in REVIEW_FIELDS if not (getattr(row, f) or "").strip()]
                if missing and not force:
                    flags = " ".join(f"--{f.replace('_', '-')} '…'" for f in missing)
                    raise IncidentError(
                        f"{incident_id}'s report still has "
                        f"{', '.join(HUMAN_FIELDS[f] for f in missing)} to fill in: "
                        f"opsbook incident edit {incident_id} {flags} (or --force)"
                    )
                if missing:
                    unwritten = ", ".join(HUMAN_FIELDS[f] for f in missing)
                    append_entry(conn, incident_id, now, actor, EntryKind.PHASE,
                                 f"marked reviewed with {unwritten} not written (--force)",
                                 {"forced": True, "missing": missing})  # fmt: skip
            else:
                require_open(row, f"moved to {phase.value}")
                if row.acknowledged_at is None:  # working on it is responding to it
                    self._ack(conn, row, now, actor, f"acknowledged (moved to {phase.value})")
            conn.execute(update(incidents).where(incidents.c.id == incident_id).values(**values))
            body = f"{current.value} → {phase.value}"
            data = {"from": current.value, "to": phase.value}
            append_entry(conn, incident_id, now, actor, EntryKind.PHASE, body, data)
        return self.get(incident_id)

    def resolve(self, incident_id: str, why: str, actor: str) -> Incident:
        with begin(self.engine) as conn:
            self.resolve_in(conn, incident_id, why, actor)
        return self.get(incident_id)

    def resolve_in(self, conn: Connection, incident_id: str, why: str, actor: str) -> None:
        if not why.strip():
            raise UsageError("say how it was resolved: --why '…'")
        now = self.clock()
        row = lock_incident(conn, incident_id)
        if row.resolved_at is not None:
            raise IncidentError(
                f"{incident_id} was already resolved at {when(row.resolved_at)}"
                f" (reopen it first if it is back)"
            )
        require_open(row, "resolved")
        if row.acknowledged_at is None:
            self._ack(conn, row, now, actor, "acknowledged (resolved)")
        conn.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(phase=Phase.RESOLVED.value, resolved_at=now)
        )
        took_s = (now - row.opened_at).total_seconds()
        data = {"from": row.phase, "why": why.strip(), "duration_s": took_s}
        append_entry(
            conn,
            incident_id,
            now,
            actor,
            EntryKind.RESOLVED,
            f"resolved after {format_duration(took_s)}: {why.strip()}",
            data,
        )
        ensure_runbook_action(conn, row, now, actor)

    def reopen(self, incident_id: str, actor: str, why: str = "") -> Incident:
        now = self.clock()
        with begin(self.engine) as conn:
            row = lock_incident(conn, incident_id)
            if Phase(row.phase).is_open:
                raise IncidentError(f"{incident_id} is open ({row.phase}); nothing to reopen")
            conn.execute(
                update(incidents)
                .where(incidents.c.id == incident_id)
                .values(phase=Phase.INVESTIGATING.value, resolved_at=None, reviewed_at=None)
            )
            body = "reopened" + (f": {why.strip()}" if why.strip() else "")
            data = {"from": row.phase, "why": why.strip()}
            append_entry(conn, incident_id, now, actor, EntryKind.REOPENED, body, data)
        return self.get(incident_id)

    def assign(self, incident_id: str, person: str, actor: str) -> Incident:
        person = person.strip()
        if not person:
            raise UsageError("assign to whom? opsbook incident assign ID PERSON")
        with begin(self.engine) as conn:
            row = lock_incident(conn, incident_id)
            if row.commander == person:
                raise IncidentError(f"{incident_id} is already assigned to {person}")
            conn.execute(
                update(incidents).where(incidents.c.id == incident_id).values(commander=person)
            )
            body = f"assigned to {person}" + (f" (was {row.commander})" if row.commander else "")
            data = {"from": row.commander, "to": person}
            append_entry(conn, incident_id, self.clock(), actor, EntryKind.ASSIGNED, body, data)
        return self.get(incident_id)

    def edit(self, incident_id: str, changes: dict[str, str], actor: str) -> list[str]:
        """Set report fields; returns the fields that changed (unchanged ones are skipped)."""
        unknown = set(changes) - set(HUMAN_FIELDS)
        if unknown:
            raise UsageError(f"unknown report field(s): {', '.join(sorted(unknown))}")
        now = self.clock()
        changed = []
        with begin(self.engine) as conn:
            row = lock_incident(conn, incident_id)
            for field, raw in changes.items():
                value = raw.strip()
                if (getattr(row, field) or "") == value:
                    continue
                conn.execute(
                    update(incidents)
                    .where(incidents.c.id == incident_id)
                    .values({field: value or None})
                )
                heading = HUMAN_FIELDS[field]
                body = f"{heading} {'cleared' if not value else 'set'}"
                append_entry(
                    conn,
                    incident_id,
                    now,
                    actor,
                    EntryKind.EDITED,
                    body,
                    {"field": field, "value": value},
                )
                changed.append(field)
            if not changed:
                raise IncidentError(f"{incident_id}: nothing changed (the fields already say that)")
        return changed

    # ------------------------------------------------------------------ reading

    def get(self, incident_id: str) -> Incident:
        with read(self.engine) as conn:
            return get_incident(conn, incident_id)

    def list(
        self,
        *,
        open_only: bool = False,
        severities: Sequence[int] = (),
        since: datetime | None = None,
    ) -> list[Incident]:
        found, _ = self.page(open_only=open_only, severities=severities, since=since)
        return found

    def page(
        self,
        *,
        open_only: bool = False,
        severities: Sequence[int] = (),
        since: datetime | None = None,
        text: str = "",
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[builtins.list[Incident], int]:
        """Newest first, filtered in the database: (one page, how many match in all). A
        year of incidents is not read to show fifty."""
        where: builtins.list[ColumnElement[bool]] = []
        if open_only:
            where.append(incidents.c.phase.in_([p.value for p in ACTIVE_PHASES]))
        if severities:
            where.append(incidents.c.severity.in_(list(severities)))
        if since is not None:
            where.append(incidents.c.opened_at >= since)
        if text.strip():
            literal = text.strip().lower().replace("\\", "\\\\")
            literal = literal.replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{literal}%"
            where.append(or_(func.lower(incidents.c.title).like(pattern, escape="\\"),
                             func.lower(incidents.c.id).like(pattern, escape="\\")))  # fmt: skip
        query = (select(incidents).where(*where)
                 .order_by(incidents.c.opened_at.desc(), incidents.c.id.desc()))  # fmt: skip
        with read(self.engine) as conn:
            if limit is None:
                rows = [to_incident(row) for row in conn.execute(query)]
                return rows, len(rows)
            total = conn.execute(
                select(func.count()).select_from(incidents).where(*where)).scalar_one()  # fmt: skip
            page = conn.execute(query.limit(limit).offset(offset))
            return [to_incident(row) for row in page], int(total)

    # ------------------------------------------------------------------ helpers

    def _ack(self, conn: Connection, row: Row[Any], now: datetime, actor: str, body: str) -> None:
        conn.execute(
            update(incidents)
            .where(incidents.c.id == row.id)
            .values(acknowledged_at=now, acknowledged_by=actor)
        )
        late = now > row.response_due_at
        data = {"response_s": (now - row.opened_at).total_seconds(), "within_target": not late}
        append_entry(conn, row.id, now, actor, EntryKind.ACKNOWLEDGED, body, data)

    def _clock_start(self, conn: Connection, row: Row[Any]) -> datetime:
        """When the response clock last started: the opening, or the latest raise."""
        start: datetime = row.opened_at
        entries = conn.execute(
            select(timeline.c.at, timeline.c.data).where(
                timeline.c.incident_id == row.id, timeline.c.kind == EntryKind.SEVERITY.value
            )
        )
        for at, data in entries:
            if data and data.get("to", 9) < data.get("from", 0):
                start = max(start, at)
        return start
