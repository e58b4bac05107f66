"""Delivering the outbox: claim due notifications, send them concurrently, record outcomes
(delivered / retry later with backoff / failed for good) with timeline entries.

A page whose channel keeps failing (a permanent error, or three failed attempts) moves the
escalation to its next level at once: a channel that stays down is itself worth escalating.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from opsbook.clients import webhooks
from opsbook.config.paging_section import Paging
from opsbook.errors import OpsbookError
from opsbook.identity import worker_id
from opsbook.incidents.model import EntryKind
from opsbook.incidents.rows import append_entry
from opsbook.paging import acks
from opsbook.paging.channels import PERSON_SLACK, Outcome, deliver
from opsbook.paging.escalations import escalate_now
from opsbook.paging.outbox import (
    Item,
    claim,
    delivered,
    failed,
    page_still_going,
    release_dead,
)
from opsbook.store.tx import begin

T = TypeVar("T")
Send = Callable[[Item, Paging, webhooks.Session], Awaitable[Outcome]]
InStore = Callable[[Callable[[], T]], Awaitable[T]]
log = logging.getLogger("opsbook.paging")
CHANNEL_DOWN_AFTER = 3  # failed attempts of a page before escalating past it
# After the store comes back from an outage, other workers' leases are honoured this long
# even if expired: their holders may have sent during the outage and be recording it now.
RECORD_GRACE = timedelta(seconds=10)
ACTOR = "opsbook"


def via(item: Item) -> str:
    return "Slack" if item.channel == PERSON_SLACK else item.channel


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        paging: Paging,
        in_store: InStore[Any],
        *,
        clock: Callable[[], datetime],
        send: Send = deliver,
    ) -> None:
        self.engine = engine
        self.send = send
        self.paging = paging
        self.in_store = in_store
        self.clock = clock
        self.worker = worker_id()
        self.wake = asyncio.Event()
        self.undeliverable: list[str] = []  # pages that failed everywhere, for the daemon
        # Sent but not yet recorded (the store went away after the send): recorded before
        # anything new is claimed, so a page sent once is not sent again when its lease ends.
        self.unrecorded: list[tuple[Item, Outcome]] = []
        self.store_lost = False
        self.store_back_at: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        async with webhooks.session() as http:
            released = await self.in_store(self._release_dead)
            if released:
                log.info("outbox: %d notification(s) left by a stopped daemon go out now", released)
            while not stop.is_set():
                if await self.round(http):
                    continue
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=1.0)

    async def round(self, http: webhooks.Session) -> bool:
        """Claim what is due, deliver it, record every outcome; False when nothing was due."""
        try:
            if self.unrecorded:
                done = list(self.unrecorded)
                sent, outcomes = [i for i, _ in done], [o for _, o in done]
                await self.in_store(functools.partial(self._record, sent, outcomes))
                del self.unrecorded[: len(done)]
                log.info("outbox: %d delivery outcome(s) recorded after the store came back",
                         len(done))  # fmt: skip
            items: list[Item] = await self.in_store(self._claim)
        except OpsbookError as exc:  # the store is down: try again in a second
            log.error("outbox: %s", exc)  # noqa: TRY400
            self.store_lost = True
            await asyncio.sleep(1.0)
            return False
        if self.store_lost:
            self.store_lost, self.store_back_at = False, self.clock()
        if not items:
            return False
        outcomes = await asyncio.gather(*(self._deliver(item, http) for item in items))
        try:
            await self.in_store(functools.partial(self._record, items, outcomes))
        except OpsbookError as exc:  # kept, and recorded first once the store answers
            log.error("outbox: could not record deliveries yet: %s", exc)  # noqa: TRY400
            self.unrecorded.extend(zip(items, outcomes, strict=True))
            self.store_lost = True
        return True

    async def _deliver(self, item: Item, http: webhooks.Session) -> Outcome:
        try:
            return await self.send(item, self.paging, http)
        except Exception as exc:  # one odd item (or a bug) is that item's failure, not the round's
            log.exception("outbox: delivering %s to %s failed", item.kind, item.recipient)
            # Retried like a network error, but given up after a few tries: it is unlikely to
            # pass, and a page that cannot be sent must escalate, not wait a day.
            return Outcome(
                False,
                permanent=item.attempts + 1 >= CHANNEL_DOWN_AFTER,
                detail=f"internal error: {type(exc).__name__}: {exc}"[:300],
            )

    def _release_dead(self) -> int:
        with begin(self.engine) as conn:
            return release_dead(conn, self.clock())

    def _claim(self) -> list[Item]:
        """Claim what is due, and give each page its acknowledgement link now: the token is
        stored hashed, and the clear one exists only in the message being sent."""
        now = self.clock()
        ttl = float(self.paging.settings.ack_link_ttl)
        back = self.store_back_at
        mine_only = self.store_lost or (back is not None and now < back + RECORD_GRACE)
        with begin(self.engine) as conn:
            items = claim(conn, worker=self.worker, now=now, mine_only=mine_only)
            return [
                replace(i, message=i.message.with_ack_token(
                    acks.issue(conn, i.incident_id, i.recipient, now, ttl)))
                if i.message.wants_ack_token and i.incident_id else i
                for i in items
            ]  # fmt: skip

    def _record(self, items: Sequence[Item], outcomes: Sequence[Outcome]) -> None:
        now = self.clock()
        with begin(self.engine) as conn:
            for item, outcome in zip(items, outcomes, strict=True):
                _record_one(conn, item, outcome, now, self.undeliverable)


def _record_one(
    conn: Connection, item: Item, outcome: Outcome, now: datetime, undeliverable: list[str]
) -> None:
    """The outcome in the outbox, and on the incident's timeline when there is one."""
    what = f"{item.kind} to {item.recipient} via {via(item)}"

    def note(kind: EntryKind, text: str, data: dict[str, Any]) -> None:
        if item.incident_id:
            append_entry(conn, item.incident_id, now, ACTOR, kind, text, data)

    if outcome.ok:
        delivered(conn, item, now)
        note(EntryKind.DELIVERY, f"{what} delivered ({outcome.detail})",
             {"outbox": item.id, "status": "delivered"})  # fmt: skip
        return
    final = failed(conn, item, now, outcome.detail, permanent=outcome.permanent)
    log.warning("%s failed%s: %s", what, " for good" if final else "", outcome.detail)
    if final:
        note(EntryKind.DELIVERY, f"{what} failed for good: {outcome.detail}",
             {"outbox": item.id, "status": "failed"})  # fmt: skip
    if final and item.incident_id and item.kind == "page" and not page_still_going(conn, item):
        text = (f"NOT DELIVERED: the page for {item.recipient} failed on every channel "
                f"(last: {outcome.detail})")  # fmt: skip
        note(EntryKind.PAGE, text, {"outbox": item.id, "delivered": False})
        undeliverable.append(f"{item.incident_id} page to {item.recipient}: {outcome.detail}")
    down = final or item.attempts + 1 >= CHANNEL_DOWN_AFTER
    if not (item.incident_id and item.kind == "page" and down):
        return
    if escalate_now(conn, item.incident_id, now):  # a channel that stays down: do not wait
        note(EntryKind.ESCALATION, f"{via(item)} is failing for {item.recipient} "
             f"({outcome.detail}): escalating to the next level now",
             {"state": "channel_down", "channel": item.channel})  # fmt: skip
