"""What the store keeps about backups: events (backup, verify, restore, prune, copy),
leases that keep prune away from a backup being read, and job locks for scheduled runs."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from opsbook.identity import is_dead_here, worker_id
from opsbook.store.tables import backup_events, backup_leases, job_locks
from opsbook.store.tx import begin, read


class EventKind(enum.StrEnum):
    BACKUP = "backup"
    VERIFY = "verify"
    RESTORE = "restore"
    PRUNE = "prune"
    COPY = "copy"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    source: str
    backup_id: str | None
    repo: str | None
    started_at: datetime
    finished_at: datetime
    ok: bool
    detail: str
    actor: str = ""


def record(engine: Engine, event: Event) -> None:
    with begin(engine) as conn:
        conn.execute(
            insert(backup_events).values(
                kind=event.kind.value,
                source=event.source,
                backup_id=event.backup_id,
                repo=event.repo,
                started_at=event.started_at,
                finished_at=event.finished_at,
                ok=event.ok,
                detail=event.detail[:4000],
                actor=event.actor,
            )
        )


def verifications(engine: Engine) -> dict[str, Event]:
    """The latest verification of each backup."""
    latest = (
        select(backup_events.c.backup_id, func.max(backup_events.c.id).label("id"))
        .where(backup_events.c.kind == EventKind.VERIFY.value)
        .group_by(backup_events.c.backup_id)
        .subquery()
    )
    query = select(backup_events).join(latest, latest.c.id == backup_events.c.id)
    with read(engine) as conn:
        return {r.backup_id: _event(r) for r in conn.execute(query)}


def events(
    engine: Engine, *, source: str | None = None, kind: EventKind | None = None, limit: int = 50
) -> list[Event]:
    query = select(backup_events).order_by(backup_events.c.id.desc()).limit(limit)
    if source is not None:
        query = query.where(backup_events.c.source == source)
    if kind is not None:
        query = query.where(backup_events.c.kind == kind.value)
    with read(engine) as conn:
        return [_event(r) for r in conn.execute(query)]


def _event(row: object) -> Event:
    r = row._mapping  # type: ignore[attr-defined]
    return Event(
        kind=EventKind(r["kind"]),
        source=r["source"],
        backup_id=r["backup_id"],
        repo=r["repo"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        ok=bool(r["ok"]),
        detail=r["detail"],
        actor=r["actor"],
    )


@contextlib.contextmanager
def lease(
    engine: Engine, backup_id: str, purpose: str, ttl: timedelta = timedelta(hours=12)
) -> Iterator[None]:
    """While held, prune leaves this backup alone (a verify or restore is reading it)."""
    with begin(engine) as conn:
        row = conn.execute(
            insert(backup_leases).values(
                backup_id=backup_id,
                purpose=purpose,
                holder=worker_id(),
                expires_at=datetime.now(UTC) + ttl,
            )
        )
        lease_id = row.inserted_primary_key[0] if row.inserted_primary_key else None
    try:
        yield
    finally:
        with begin(engine) as conn:
            conn.execute(delete(backup_leases).where(backup_leases.c.id == lease_id))


def leased(engine: Engine) -> set[str]:
    now = datetime.now(UTC)
    with read(engine) as conn:
        rows = conn.execute(
            select(backup_leases.c.backup_id).where(backup_leases.c.expires_at > now)
        )
        return {r.backup_id for r in rows}


def claim(engine: Engine, name: str, ttl: timedelta) -> bool:
    """Take the job lock ``name`` unless someone holds it and it has not expired.

    A conditional UPDATE, so two processes (two `opsbook serve`, or serve and a cron job)
    never both win; a holder that died loses the lock when it expires.
    """
    now = datetime.now(UTC)
    with begin(engine) as conn:
        with contextlib.suppress(IntegrityError), conn.begin_nested():
            conn.execute(insert(job_locks).values(name=name, holder=None, expires_at=None))
        current = conn.execute(
            select(job_locks.c.holder).where(job_locks.c.name == name)
        ).scalar_one_or_none()
        free = or_(job_locks.c.holder.is_(None), job_locks.c.expires_at < now)
        if current is not None and is_dead_here(current):  # killed on this host: no need to wait
            free = or_(free, job_locks.c.holder == current)
        taken = conn.execute(
            update(job_locks)
            .where(and_(job_locks.c.name == name, free))
            .values(holder=worker_id(), expires_at=now + ttl)
        )
        return taken.rowcount == 1


def release(engine: Engine, name: str) -> None:
    with begin(engine) as conn:
        conn.execute(
            update(job_locks)
            .where(and_(job_locks.c.name == name, job_locks.c.holder == worker_id()))
            .values(holder=None, expires_at=None)
        )
