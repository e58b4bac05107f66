"""Leading and following: what an instance starts when it takes the lease and stops when it
loses or gives it up (docs/ha.md). A single daemon on SQLite simply leads from the start."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from opsbook.alerts.relay import relay_results
from opsbook.daemon.jobs import start_jobs
from opsbook.daemon.pipeline import next_batch, pipeline, take_relayed
from opsbook.daemon.scheduler import Scheduler
from opsbook.daemon.watch import Watcher
from opsbook.errors import OpsbookError
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
    await stop_following(d)
    d.fence.token = token
    d.leader_stop = asyncio.Event()
    await d.open()
    if taken_from and taken_from != d.instance:
        said = (f"opsbook instance {d.instance} took over from {taken_from} (lease token "
                f"{token}): checks, alerts and paging go on from here")  # fmt: skip
        data = {"instance": d.instance, "from": taken_from, "token": token}
        await d.in_store(lambda: note_open(d.engine, d.clock(), ACTOR, EntryKind.ESCALATION,
                                           said, data))  # fmt: skip
    checks = d.scheduled(leading=True)
    scheduler = d.scheduler = Scheduler(
        checks, d.loaded.redactor, d.on_result, concurrency=d.config.server.concurrency
    )
    d.plan_decisions()  # pending timers loaded from the store end on time too
    d.watcher = Watcher(checks, scheduler.wake)
    start = d.supervisor.start
    start("scheduler", lambda: scheduler.run(d.leader_stop))
    start("pipeline", lambda: pipeline(d))
    start("housekeeping", lambda: every(SUMMARY_EVERY, d.housekeep))
    start("paging", lambda: every(PAGING_EVERY, d.page_now))
    start("relay", lambda: every(PAGING_EVERY, lambda: take_relayed(d)))
    d.leading = d.state.leading = True
    start_backups(d)
    start_jobs(d)
    d.watcher.start()
    # a takeover is news (WARNING); a daemon that starts and leads, as a single one always
    # does, is not
    level = logging.WARNING if taken_from and taken_from != d.instance else logging.INFO
    log.log(level, "opsbook serve: %s leads (lease token %d)", d.instance, token)


async def step_down(d: Daemon, why: str) -> None:
    """Stop what only the leader does; checks in flight finish, queued results are written
    while the lease still holds (refused by the fence once it does not)."""
    if not d.leading:
        return
    d.leading = d.state.leading = False
    level = logging.INFO if d.stop.is_set() else logging.WARNING  # a clean stop is not news
    log.log(level, "opsbook serve: %s steps down: %s", d.instance, why)
    d.leader_stop.set()
    await d.supervisor.wait("scheduler")  # returns once in-flight checks are done
    if d.watcher is not None:
        await d.watcher.stop()
    await d.supervisor.wait("backups", timeout=5)
    await d.supervisor.wait("jobs", timeout=15)  # running jobs killed, recorded interrupted
    await d.supervisor.cancel("housekeeping", "paging", "backups", "jobs", "relay")
    log.info("opsbook serve: writing %d queued results", d.queue.qsize())
    await d.supervisor.wait("pipeline")
    d.forget_decisions()
    d.scheduler = None
    d.drop_leader_state()  # rebuilt from the store if it leads again
    d.fence.token = None
    if not d.stop.is_set():
        follow(d)


def follow(d: Daemon) -> None:
    """A follower runs its own host's checks (and those pinned to it) and passes their
    results to the leader through the store."""
    checks = d.scheduled(leading=False)
    if not checks:
        return
    d.follow_stop = asyncio.Event()
    scheduler = d.scheduler = Scheduler(
        checks, d.loaded.redactor, d.on_result, concurrency=d.config.server.concurrency
    )
    d.supervisor.start("scheduler", lambda: scheduler.run(d.follow_stop))
    d.supervisor.start("outbound", lambda: outbound(d))
    log.info("opsbook serve: %s follows, running %d check(s) of its own", d.instance, len(checks))


async def stop_following(d: Daemon) -> None:
    if d.leading or d.scheduler is None:
        return
    d.follow_stop.set()
    await d.supervisor.wait("scheduler")
    await d.supervisor.wait("outbound")
    d.scheduler = None


async def outbound(d: Daemon) -> None:
    """A follower's results, into the store for the leader (relayed_results)."""
    while (batch := await next_batch(d.queue, d.follow_stop)) is not None:
        try:
            await d.in_store(partial(relay_results, d.store.engine, batch, d.instance, d.clock()))
        except OpsbookError as exc:  # the store is down: these results are lost, say so
            log.error("could not pass %d results to the leader: %s", len(batch), exc)  # noqa: TRY400


def start_backups(d: Daemon) -> None:
    if d.config.backups is None or d.scheduler is None:
        return
    from opsbook.daemon.backup_jobs import BackupScheduler

    jobs = BackupScheduler(d.config.backups, d.engine, timezone=d.config.timezone,
                           wake=d.scheduler.wake, clock=d.clock)  # fmt: skip
    d.supervisor.start("backups", lambda: jobs.run(d.leader_stop))
