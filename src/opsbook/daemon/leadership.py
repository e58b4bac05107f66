"""Which instance of a deployment leads: the lease kept (renewed every third of its length)
or waited for (a follower tries every second), and the daemon switched between leading and
following accordingly. On SQLite, which serves one instance, a second daemon is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select

from opsbook import __version__
from opsbook.alerts.model import AlertState
from opsbook.cluster.lease import Holder, claim, idle_limit_ms, release, this_process
from opsbook.cluster.members import Member, Role, beat, status
from opsbook.errors import OpsbookError, StoreError
from opsbook.identity import is_dead_here
from opsbook.store.engine import is_sqlite, make_engine
from opsbook.store.migrate import HEAD, current_revision
from opsbook.store.open import Store
from opsbook.store.tables import cluster_members
from opsbook.store.tx import read
from opsbook.units import format_duration

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

log = logging.getLogger("opsbook")
POLL = 1.0  # seconds between a follower's attempts
GONE_AFTER = 3  # failover periods without a heartbeat: an instance is gone
GONE_SEVERITY = 3  # the deployment lost its spare: worth a look within hours, not 3 a.m.


def leader_engine(store: Store, ttl: float) -> Engine:
    """SQLite: the store's engine. PostgreSQL: an engine of its own (fenced by the daemon),
    whose sessions the server ends when a transaction stays idle for half a lease, so a
    leader paused mid-transaction cannot hold the lease row's lock past its lease."""
    if is_sqlite(store.url):
        return store.engine
    idle_ms = idle_limit_ms(ttl)
    return make_engine(store.url, options=f"-c idle_in_transaction_session_timeout={idle_ms}")


class Leadership:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        self.engine = daemon.store.engine  # not fenced: the lease itself, the members
        host, pid = this_process()
        self.started_at: datetime = daemon.clock()
        self.host, self.pid = host, pid
        self.holder: Holder | None = None
        self.valid_until = 0.0  # monotonic: past it, a leader that could not renew stops

    @property
    def ttl(self) -> float:
        return self.d.config.server.lease_ttl

    async def first(self) -> None:
        """The first attempt, before anything else starts: on SQLite a store held by a live
        daemon is refused with one line."""
        mine = await self._claim()
        if mine is not None:
            await self.d.lead(mine.token, mine.taken_from)
        elif is_sqlite(self.d.store.url) and self.holder is not None:
            raise StoreError(
                f"another opsbook serve ({self.holder.instance}) is running on the SQLite "
                f"store {self.d.store.described}; SQLite serves one instance: stop it, or "
                "use a PostgreSQL store for several (docs/ha.md)"
            )
        await self._beat()

    async def run(self) -> None:
        while not self.d.stop.is_set():
            leading = self.d.leading
            try:
                mine = await self._claim()
            except OpsbookError as exc:
                mine = None
                log.error("lease: %s", exc)  # noqa: TRY400 - the store may be down; next round
                if leading and time.monotonic() < self.valid_until:
                    await self._sleep(POLL)
                    continue  # still within the lease this instance holds
            if mine is not None and not leading:
                await self.d.lead(mine.token, mine.taken_from)
            elif mine is None and leading:
                who = self.holder.instance if self.holder else "nobody (the store is unreachable)"
                why = self.d.state.cluster_problem or f"the lease is lost (held by {who})"
                await self.d.step_down(why)
            with contextlib.suppress(OpsbookError):
                await self._beat()
            await self._sleep(self.ttl / 3 if self.d.leading else POLL)

    async def last(self) -> None:
        """A clean stop: the lease given up (a follower takes over at its next attempt)."""
        with contextlib.suppress(OpsbookError):
            if self.holder is not None and self.holder.instance == self.d.instance:
                await asyncio.to_thread(release, self.engine, self.d.instance, self.holder.token)
            await self._beat(Role.STOPPED)

    async def watch_members(self) -> bool:
        """The leader's round: an instance not seen for GONE_AFTER failover periods (and not
        stopped cleanly) is an alert; seen again, or stopped, it resolves."""
        d = self.d
        if not d.leading or d._processor is None:
            return False
        found = await asyncio.to_thread(status, self.engine)
        limit = GONE_AFTER * float(d.config.server.failover)
        did = False
        for m in found.members:
            if m.instance == d.instance:
                continue
            silent = (found.now - m.seen_at).total_seconds()
            gone = m.role is not Role.STOPPED and silent > limit
            alert = d.processor.alerts.get(f"opsbook:instance:{m.instance}")
            firing = alert is not None and alert.state is AlertState.FIRING
            if gone and not firing:
                await d.self_alert(f"instance:{m.instance}", "firing",
                                   f"opsbook instance {m.instance} ({m.host}) has not been seen "
                                   f"for {format_duration(silent)}: the deployment has one "
                                   "fewer spare", GONE_SEVERITY)  # fmt: skip
                did = True
            elif firing and not gone:
                back = m.role is not Role.STOPPED
                said = f"opsbook instance {m.instance} is " + ("back" if back else "stopped")
                await d.self_alert(f"instance:{m.instance}", "resolved", said)
                did = True
        return did

    async def _claim(self) -> Holder | None:
        started = time.monotonic()
        schema = await asyncio.to_thread(self._schema)
        if schema != HEAD:  # another opsbook upgraded the store: this one must not lead
            self.d.state.cluster_problem = (
                f"the store's schema is revision {schema}, this opsbook knows {HEAD}: "
                "it will not lead until it is upgraded"
            )
            return None
        self.d.state.cluster_problem = ""
        dead = await asyncio.to_thread(self._dead_here)
        mine, holder = await asyncio.to_thread(claim, self.engine, self.d.instance, self.ttl,
                                               dead=dead)  # fmt: skip
        self.holder = holder
        self.d.state.leader = holder.instance if holder is not None else None
        if mine is not None:
            self.valid_until = started + self.ttl
        return mine

    def _schema(self) -> str | None:
        with read(self.engine) as conn:
            return current_revision(conn)

    def _dead_here(self) -> list[str]:
        """Instances on this host whose process is gone (kill -9): their lease is free now."""
        with read(self.engine) as conn:
            rows = conn.execute(
                select(cluster_members.c.instance, cluster_members.c.pid).where(
                    cluster_members.c.host == self.host,
                    cluster_members.c.instance != self.d.instance,
                )
            ).all()
        return [r.instance for r in rows if is_dead_here(f"{self.host}:{r.pid}")]

    async def _beat(self, role: Role | None = None) -> None:
        said = role or (Role.LEADER if self.d.leading else Role.FOLLOWER)
        member = Member(self.d.instance, self.host, self.pid, __version__, said,
                        self.started_at, self.started_at)  # fmt: skip
        await asyncio.to_thread(beat, self.engine, member)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.d.stop.wait(), timeout=seconds)
