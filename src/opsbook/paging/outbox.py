"""The outbox: every notification is written here, in the transaction that decided it, before
any attempt to send it; the daemon delivers from here with retries.

Each row has an idempotency key (so re-deciding the same page writes nothing twice) and is
claimed for a short lease before delivery (FOR UPDATE SKIP LOCKED on PostgreSQL, so several
daemons never take the same row; SQLite's single writer does the same). A daemon killed
mid-delivery leaves its lease to expire and the row is delivered again (at-least-once; the
key travels with it so receivers can drop duplicates). A daemon that sent but lost the store
before recording keeps the outcome and records it first when the store returns, and others
leave its expired leases alone for a grace after an outage they saw too (paging/delivery.py).
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, or_, select, update

from opsbook.identity import is_dead_here
from opsbook.paging.message import Message
from opsbook.store.tables import ack_tokens, outbox

LEASE = timedelta(seconds=20)
GIVE_UP_AFTER = timedelta(hours=24)
MAX_BACKOFF_S = 600.0


class Delivery(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Item:
    id: int
    key: str
    incident_id: str | None
    kind: str
    channel: str
    recipient: str
    message: Message
    attempts: int
    created_at: datetime


def enqueue(
    conn: Connection,
    *,
    key: str,
    incident_id: str | None,
    channel: str,
    recipient: str,
    message: Message,
    now: datetime,
) -> bool:
    """Write a notification; False if one with this key already exists."""
    values: dict[str, Any] = {
        "key": key,
        "incident_id": incident_id,
        "kind": message.kind.value,
        "channel": channel,
        "recipient": recipient,
        "payload": message.to_json(),
        "status": Delivery.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        result = conn.execute(pg_insert(outbox).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        result = conn.execute(sqlite_insert(outbox).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)


def claim(
    conn: Connection, *, worker: str, now: datetime, limit: int = 50, mine_only: bool = False
) -> list[Item]:
    """Lease what is due. ``mine_only`` leaves other workers' expired leases alone (never
    claimed, or claimed by this worker only): just after a store outage, their holders may
    have sent and be about to record it."""
    free = or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now)
    if mine_only:
        free = or_(outbox.c.claimed_by.is_(None), outbox.c.claimed_by == worker) & free
    due = (
        select(outbox)
        .where(
            outbox.c.status == Delivery.PENDING.value,
            outbox.c.next_attempt_at <= now,
            free,
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(conn.execute(due))
    if rows:
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_([r.id for r in rows]))
            .values(claimed_until=now + LEASE, claimed_by=worker)
        )
    return [_item(r) for r in rows]


def release_dead(conn: Connection, now: datetime) -> int:
    """Leases held by a process that died on this host end now, not LEASE later: a page
    claimed by a daemon killed mid-delivery goes out as soon as the next one starts."""
    holders = conn.execute(
        select(outbox.c.claimed_by)
        .where(outbox.c.status == Delivery.PENDING.value, outbox.c.claimed_until >= now)
        .distinct()
    ).scalars()
    dead = [h for h in holders if h and is_dead_here(h)]
    if not dead:
        return 0
    return conn.execute(
        update(outbox)
        .where(outbox.c.status == Delivery.PENDING.value, outbox.c.claimed_by.in_(dead))
        .values(claimed_until=None)
    ).rowcount


def page_still_going(conn: Connection, item: Item) -> bool:
    """Whether another notification of the same page (same incident, level and repeat) is
    delivered or still pending: if none is, the page reached nobody."""
    step = ":".join(item.key.split(":")[:4])  # INC-…:page:<level>:<repeat>
    alive = conn.execute(
        select(outbox.c.id).where(
            outbox.c.key.startswith(step + ":", autoescape=True),
            outbox.c.id != item.id,
            outbox.c.status.in_([Delivery.PENDING.value, Delivery.DELIVERED.value]),
        )
    ).first()
    return alive is not None


def purge(conn: Connection, before: datetime) -> int:
    """Notifications done with (delivered, failed, cancelled) and older than ``before`` are
    removed: what they said is on the incident's timeline; the outbox is not an archive."""
    done = [Delivery.DELIVERED.value, Delivery.FAILED.value, Delivery.CANCELLED.value]
    removed = conn.execute(
        delete(outbox).where(outbox.c.status.in_(done), outbox.c.created_at < before)
    ).rowcount
    conn.execute(delete(ack_tokens).where(ack_tokens.c.expires_at < before))
    return int(removed)


def _item(row: Row[Any]) -> Item:
    return Item(
        row.id,
        row.key,
        row.incident_id,
        row.kind,
        row.channel,
        row.recipient,
        Message.from_json(row.payload),
        row.attempts,
        row.created_at,
    )


def delivered(conn: Connection, item: Item, now: datetime) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.id == item.id)
        .values(
            status=Delivery.DELIVERED.value,
            delivered_at=now,
            attempts=item.attempts + 1,
            claimed_until=None,
            last_error=None,
        )
    )


def failed(
    conn: Connection,
    item: Item,
    now: datetime,
    error: str,
    *,
    permanent: bool,
    rng: random.Random | None = None,
) -> bool:
    """Record a failed attempt; True if it will not be tried again."""
    attempts = item.attempts + 1
    give_up = permanent or now - item.created_at > GIVE_UP_AFTER
    if give_up:
        values: dict[str, Any] = {"status": Delivery.FAILED.value}
    else:
        # Exponential backoff with jitter: 2 s, 4 s, 8 s … up to 10 minutes, ±50 %.
        delay = min(2.0**attempts, MAX_BACKOFF_S) * (rng or random).uniform(0.5, 1.5)
        values = {"next_attempt_at": now + timedelta(seconds=delay)}
    conn.execute(
        update(outbox)
        .where(outbox.c.id == item.id)
        .values(attempts=attempts, last_error=error[:500], claimed_until=None, **values)
    )
    return give_up


def cancel_pages(conn: Connection, incident_id: str) -> int:
    """An acknowledged or resolved incident needs no more waking up."""
    return int(
        conn.execute(
            update(outbox)
            .where(
                outbox.c.incident_id == incident_id,
                outbox.c.kind == "page",
                outbox.c.status == Delivery.PENDING.value,
            )
            .values(status=Delivery.CANCELLED.value)
        ).rowcount
        or 0
    )


def already(conn: Connection, key: str) -> bool:
    return conn.execute(select(outbox.c.id).where(outbox.c.key == key)).first() is not None
