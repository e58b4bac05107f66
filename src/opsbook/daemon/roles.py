"""Leading and following: what an instance starts when it takes the lease and stops when it
loses or gives it up (docs/ha.md). A single daemon on SQLite simply leads from the start."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from opsbook.daemon.pipeline import pipeline
from opsbook.daemon.scheduler import Scheduler
from opsbook.daemon.watch import Watcher
from opsbook.incidents.model import EntryKind
from opsbook.incidents.records import note_open
from opsbook.paging.pager import ACTOR

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

log = logging.getLogger("opsbook")
SUMMARY_EVERY = 5.0  # seconds between housekeeping rounds (open-incident counts, alerts…)
PAGING_EVERY = 1.0  # seconds between escalation rounds (and relayed-intake rounds)


async def every(seconds: float, step: Callable[[], Awaitable[object]]) -> None:
    while True:
        await step()
        await asyncio.sleep(seconds)


async def lead(d: Daemon, token: int, taken_from: str | None = None) -> None:
    """This instance took the lease: load the state the store holds (the previous leader's
    alerts, timers and escalations) and run what must run once. Taken over from another
    instance, it says so on every open incident: who pages now, and since when."""
    d.fence.token = token
    d.leader_stop = asyncio.Event()
    await d.open()
    if taken_from and taken_from != d.instance:
        said = (f"opsbook instance {d.instance} took over from {taken_from} (lease token "
                f"{token}): checks, alerts and paging go on from here")  # fmt: skip
        data = {"instance": d.instance, "from": taken_from, "token": token}
        await d.in_store(lambda: note_open(d.engine, d.clock(), ACTOR, EntryKind.ESCALATION,
                                           said, data))  # fmt: skip
    scheduler = d.scheduler = Scheduler(
        d.config.checks, d.loaded.redactor, d.on_result, concurrency=d.config.server.concurrency
    )
    d.plan_decisions()  # pending timers loaded from the store end on time too
    d.watcher = Watcher(d.config.checks, scheduler.wake)
    start = d.supervisor.start
    start("scheduler", lambda: scheduler.run(d.leader_stop))
    start("pipeline", lambda: pipeline(d))
    start("housekeeping", lambda: every(SUMMARY_EVERY, d.housekeep))
    start("paging", lambda: every(PAGING_EVERY, d.page_now))
    start("relay", lambda: every(PAGING_EVERY, d.take_relayed))
    d.leading = d.state.leading = True
    start_backups(d)
    d.watcher.start()
    log.warning("opsbook serve: %s leads (lease token %d)", d.instance, token)


async def step_down(d: Daemon, why: str) -> None:
    """Stop what only the leader does; checks in flight finish, queued results are written
    while the lease still holds (refused by the fence once it does not)."""
    if not d.leading:
        return
    d.leading = d.state.leading = False
    log.warning("opsbook serve: %s steps down: %s", d.instance, why)
    d.leader_stop.set()
    await d.supervisor.wait("scheduler")  # returns once in-flight checks are done
    if d.watcher is not None:
        await d.watcher.stop()
    await d.supervisor.wait("backups", timeout=5)
    await d.supervisor.cancel("housekeeping", "paging", "backups", "relay")
    log.info("opsbook serve: writing %d queued results", d.queue.qsize())
    await d.supervisor.wait("pipeline")
    d.forget_decisions()
    d.scheduler = None
    d.drop_leader_state()  # rebuilt from the store if it leads again
    d.fence.token = None


def start_backups(d: Daemon) -> None:
    if d.config.backups is None or d.scheduler is None:
        return
    from opsbook.daemon.backup_jobs import BackupScheduler

    jobs = BackupScheduler(d.config.backups, d.engine, timezone=d.config.timezone,
                           wake=d.scheduler.wake, clock=d.clock)  # fmt: skip
    d.supervisor.start("backups", lambda: jobs.run(d.leader_stop))
