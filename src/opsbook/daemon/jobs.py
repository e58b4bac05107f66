"""The runbook's calendar inside `opsbook serve` (the leader's): every job at its cron time in
its time zone, one run at a time, each scheduled time run once across a deployment.

A scheduled time is claimed with a conditional UPDATE of the job's row (jobs/records), so two
daemons, or a deposed leader that wakes late, never both run it; the job lock then keeps a
manual `opsbook jobs run` from overlapping. At start, the latest time missed while no daemon
ran is run once (catch-up, unless the job says `catch_up: false`). Runs are child processes
watched from a worker thread; when the daemon stops, they are killed and recorded as
interrupted. When a run ends, its job-<name> check runs at once and its report is queued for
whoever the job names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from opsbook import aio
from opsbook.config.jobs import JobBase
from opsbook.errors import JobBusy, OpsbookError
from opsbook.jobs import records
from opsbook.jobs.calendar import missed, next_fire
from opsbook.jobs.records import Run, Trigger
from opsbook.jobs.run import run_job
from opsbook.status import Status

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

log = logging.getLogger("opsbook")
TICK = 1.0  # seconds between looks at the calendar (cheap: a few comparisons)
TIDY_EVERY = 3600.0  # seconds between retention rounds of the run records
ACTOR = "opsbook serve"


class JobScheduler:
    def __init__(self, d: Daemon, clock: Callable[[], datetime]) -> None:
        self.d = d
        self.jobs: dict[str, JobBase] = dict(d.config.jobs)
        self.clock = clock
        self.running: dict[str, asyncio.Task[None]] = {}
        self.halt = threading.Event()  # kills running children when the daemon stops
        self.tidied = 0.0
        self.due: dict[str, datetime] = {}
        self.changed: dict[str, JobBase] | None = None  # a reload's jobs, taken at the next tick

    def zone(self, job: JobBase) -> str | None:
        return job.timezone or self.d.config.timezone

    async def run(self, stop: asyncio.Event) -> None:
        if not self.jobs:
            return
        d = self.d
        now = self.clock()
        states = await d.in_store(lambda: records.know(d.store.engine, list(self.jobs), now))
        await d.in_store(lambda: records.abandon(d.store.engine, now))
        self.halt.clear()  # a restart after a crash: runs may start again
        due = self.due = {
            name: next_fire(job.schedule, now, self.zone(job)) for name, job in self.jobs.items()
        }
        for name, job in self.jobs.items():
            slot = missed(job.schedule, self.zone(job), states[name], now)
            if slot is not None and job.catch_up:
                log.info(
                    "jobs: %s missed its run at %s; running it now (catch-up)",
                    name,
                    slot.isoformat(),
                )
                await self._claim_and_start(name, Trigger.CATCH_UP, slot)
            elif slot is not None:
                log.warning(
                    "jobs: %s missed its run at %s (catch_up: false)", name, slot.isoformat()
                )
            log.info("jobs: %s next at %s", name, due[name].isoformat())
        try:
            while not stop.is_set():
                now = self.clock()
                if self.changed is not None:
                    await self._adopt(self.changed, now)
                for name, job in self.jobs.items():
                    if now >= due[name]:
                        slot, due[name] = due[name], next_fire(job.schedule, now, self.zone(job))
                        await self._claim_and_start(name, Trigger.SCHEDULE, slot)
                await self._tidy()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=TICK)
        finally:
            await self._halt()

    def update(self, jobs: dict[str, JobBase]) -> None:
        """A reload's jobs: running ones finish undisturbed; new and changed schedules count
        from now, a new job's earlier times are never caught up."""
        self.changed = dict(jobs)

    async def _adopt(self, jobs: dict[str, JobBase], now: datetime) -> None:
        d = self.d
        self.changed = None
        new = [n for n in jobs if n not in self.jobs]
        if new:
            await d.in_store(lambda: records.know(d.store.engine, new, now))
        for name, job in jobs.items():
            old = self.jobs.get(name)
            if old is None or (old.schedule, self.zone(old)) != (job.schedule, self.zone(job)):
                self.due[name] = next_fire(job.schedule, now, self.zone(job))
                log.info("jobs: %s next at %s", name, self.due[name].isoformat())
        for name in set(self.jobs) - set(jobs):
            self.due.pop(name, None)
        self.jobs = jobs

    async def _claim_and_start(self, name: str, trigger: Trigger, slot: datetime) -> None:
        if name in self.running:
            log.warning(
                "jobs: %s is still running; its run due at %s is skipped", name, slot.isoformat()
            )
            return
        d = self.d
        try:  # the fenced engine: an instance that lost the lease claims nothing
            claimed = await d.in_store(partial(records.claim_slot, d.engine, name, slot))
        except OpsbookError as exc:
            log.error("jobs: %s: could not claim its run at %s: %s", name, slot.isoformat(), exc)  # noqa: TRY400
            return
        if not claimed:
            log.info("jobs: %s at %s was run by another instance", name, slot.isoformat())
            return
        task = asyncio.create_task(self._run(name, trigger, slot), name=f"job:{name}")
        self.running[name] = task
        task.add_done_callback(lambda _: self.running.pop(name, None))

    async def _run(self, name: str, trigger: Trigger, slot: datetime) -> None:
        d, job = self.d, self.jobs[name]
        path = str(d.loaded.path) if d.loaded.path is not None else None
        log.info("jobs: %s started (%s)", name, trigger.value)
        try:
            run = await aio.in_thread(
                lambda: run_job(
                    d.store.engine,
                    name,
                    job,
                    config_path=path,
                    trigger=trigger,
                    slot=slot,
                    actor=ACTOR,
                    clock=self.clock,
                    stop=self.halt,
                    redact=d.loaded.redactor,
                )
            )
        except JobBusy as exc:
            log.warning("jobs: %s", exc)
            return
        except OpsbookError as exc:
            log.error("jobs: %s could not be recorded: %s", name, exc)  # noqa: TRY400
            return
        level = logging.INFO if run.status is Status.OK else logging.WARNING
        said = run.status.name if run.status is not None else "?"
        log.log(level, "jobs: %s %s: %s", name, said, run.summary)
        if d.scheduler is not None:
            d.scheduler.wake(f"job-{name}")
        await self._tell(name, job, run)

    async def _tell(self, name: str, job: JobBase, run: Run) -> None:
        from opsbook.paging.reports import tell

        d = self.d
        try:
            queued = await d.in_store(lambda: tell(
                d.store.engine, d.config.paging, d.config.service, name, job, run,
                redact=d.loaded.redactor, now=d.clock()))  # fmt: skip
        except OpsbookError as exc:
            log.error("jobs: %s: its report was not queued: %s", name, exc)  # noqa: TRY400
            return
        if queued == 0:
            log.warning("jobs: %s: nobody in %r can be reached for its report", name, job.notify)

    async def _tidy(self) -> None:
        if time.monotonic() - self.tidied < TIDY_EVERY:
            return
        self.tidied = time.monotonic()
        d, keep = self.d, self.d.config.retention
        try:
            await d.in_store(lambda: records.abandon(d.store.engine, self.clock()))
            gone = await d.in_store(
                lambda: records.prune(d.store.engine, self.clock(), keep.jobs, keep.job_output)
            )
        except OpsbookError as exc:
            log.error("jobs: retention: %s", exc)  # noqa: TRY400
            return
        if gone:
            log.info("retention: %d job runs older than retention.jobs removed", gone)

    async def _halt(self) -> None:
        """Stopping: running children are killed and recorded as interrupted."""
        if not self.running:
            return
        log.warning("jobs: stopping running job(s): %s", ", ".join(sorted(self.running)))
        self.halt.set()
        await asyncio.gather(*self.running.values(), return_exceptions=True)


def start_jobs(d: Daemon) -> None:
    """Start the calendar, or hand a reload's jobs to the one running."""
    running = d.calendar
    if running is not None and d.supervisor.running("jobs"):
        running.update(d.config.jobs)
        return
    if not d.config.jobs:
        return
    from opsbook.timefmt import calendar_clock

    jobs = d.calendar = JobScheduler(d, calendar_clock())
    d.supervisor.start("jobs", lambda: jobs.run(d.leader_stop))
