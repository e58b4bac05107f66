"""Backups, verifications and prunes on their cron schedules, inside `opsbook serve`.

Each job runs in a worker thread (a dump takes minutes; the event loop and the store thread
must not wait for it), at most one run of a job at a time here, and the store's job lock
keeps a second `opsbook serve` or a cron-run `opsbook backup run` from overlapping it.
When a job finishes, the source's `backup-<source>` check runs at once, so a failure
becomes an alert within seconds rather than at the check's next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from opsbook import aio
from opsbook.backups.changes import POLL, ChangeDetector
from opsbook.config.backups import Backups, FilesSource, PgBackRestSource
from opsbook.errors import BackupError, OpsbookError
from opsbook.jobs.calendar import next_fire

log = logging.getLogger("opsbook")
TICK = 15.0  # longest sleep between looks at the schedules


@dataclass(frozen=True)
class Job:
    kind: str  # backup, verify, prune
    cron: str
    source: str | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.source}" if self.source else self.kind


def jobs_of(backups: Backups) -> list[Job]:
    out = [Job("backup", s.schedule, n) for n, s in backups.sources.items() if s.schedule]
    out += [Job("incr", s.incremental_schedule, n) for n, s in backups.sources.items()
            if isinstance(s, PgBackRestSource) and s.incremental_schedule]  # fmt: skip
    out += [Job("proof", s.proof_schedule, n) for n, s in backups.sources.items()
            if isinstance(s, PgBackRestSource) and s.proof_schedule]  # fmt: skip
    if backups.settings.verify_schedule:
        out.append(Job("verify", backups.settings.verify_schedule))
    if backups.settings.prune_schedule and backups.sources:
        out.append(Job("prune", backups.settings.prune_schedule))
    return out


class BackupScheduler:
    def __init__(
        self,
        backups: Backups,
        engine: Engine,
        *,
        timezone: str | None,
        wake: Callable[[str], None],
        clock: Callable[[], datetime],
    ) -> None:
        self.backups = backups
        self.engine = engine
        self.tz = backups.settings.timezone or timezone
        self.wake = wake
        self.clock = clock
        self.jobs = jobs_of(backups)
        now = clock()
        self.due = {job.name: next_fire(job.cron, now, self.tz) for job in self.jobs}
        self.running: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.watches = {
            name: ChangeDetector(source, now, saved=_has_backup(engine, name))
            for name, source in backups.sources.items()
            if isinstance(source, FilesSource) and source.on_change
        }

    def _start(self, job: Job) -> None:
        self.running.add(job.name)
        task = asyncio.create_task(self._run(job), name=f"job:{job.name}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _changes(self, now: datetime) -> None:
        for name, watch in self.watches.items():
            job = Job("backup", "on change", name)
            if job.name not in self.running and await asyncio.to_thread(watch.due, now):
                log.info("backups: %s changed; backing it up", name)
                self._start(job)

    async def run(self, stop: asyncio.Event) -> None:
        if not self.jobs and not self.watches:
            return
        for job in self.jobs:
            log.info("backups: %s next at %s", job.name, self.due[job.name].isoformat())
        while not stop.is_set():
            now = self.clock()
            for job in self.jobs:
                if now >= self.due[job.name] and job.name not in self.running:
                    self.due[job.name] = next_fire(job.cron, now, self.tz)
                    self._start(job)
            await self._changes(now)
            wait = POLL if self.watches else TICK
            if self.due:
                soonest = min(self.due.values())
                wait = min(wait, max(0.2, (soonest - self.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
        # Stopping must not wait for an hour-long dump: its thread is a daemon thread and dies
        # with the process, like a kill -9; the next run removes its partial files, and the
        # job lock of a dead local process is taken over at once.
        if self.running:
            log.warning("backups: abandoning running job(s): %s", ", ".join(sorted(self.running)))

    async def _run(self, job: Job) -> None:
        try:
            # A daemon thread (aio's executor): stopping never waits for an hour-long dump.
            text = await aio.in_thread(self._work, job)
            log.info("backups: %s: %s", job.name, text)
        except OpsbookError as exc:
            log.error("backups: %s failed: %s", job.name, exc)  # noqa: TRY400
        finally:
            self.running.discard(job.name)
            for source in [job.source] if job.source else list(self.backups.sources):
                self.wake(f"backup-{source}")

    def _work(self, job: Job) -> str:
        from opsbook.backups import jobs

        physical = self.backups.sources.get(job.source or "")
        if isinstance(physical, PgBackRestSource):  # full (backup) or incremental, by pgBackRest
            assert job.source is not None
            if job.kind == "proof":
                return proof_line(self.engine, job.source, physical)
            return physical_line(self.backups, self.engine, job.source, physical,
                                 "incr" if job.kind == "incr" else "full")  # fmt: skip
        if job.kind == "backup":
            assert job.source is not None
            return jobs.backup(self.backups, self.engine, job.source, actor="opsbook serve").line()
        if job.kind == "verify":
            done = [jobs.verify_entry(self.backups, self.engine, e, actor="opsbook serve")
                    for e in jobs.unverified(self.backups, self.engine)]  # fmt: skip
            failed = [v.backup_id for v in done if not v.ok]
            return f"{len(done)} verified" + (f", FAILED: {', '.join(failed)}" if failed else "")
        pruned = jobs.prune(self.backups, self.engine, dry_run=False, timezone=self.tz,
                            actor="opsbook serve")  # fmt: skip
        return f"{len(pruned.deleted)} deleted" + (
            f", errors: {'; '.join(pruned.errors)}" if pruned.errors else ""
        )


def physical_line(
    backups: Backups, engine: Engine, name: str, source: PgBackRestSource, kind: str
) -> str:
    from opsbook.backups.pgbackrest import physical

    done = physical.backup(name, source, backups, engine, kind=kind, actor="opsbook serve")
    if done.error:
        raise BackupError(done.error)
    said = f"{kind} {done.backup.label if done.backup else '?'} in {done.seconds:.0f} s"
    if done.proof is not None:
        said += f"; proof: {'ok' if done.proof.ok else 'FAILED'}: {done.proof.detail}"
    return said


def proof_line(engine: Engine, name: str, source: PgBackRestSource) -> str:
    from opsbook.backups.pgbackrest import physical

    done = physical.random_proof(name, source, engine, actor="opsbook serve")
    if not done.ok:
        raise BackupError(f"proof by restore FAILED: {done.detail}")
    return f"proved by restore in {done.seconds:.0f} s: {done.detail}"


def _has_backup(engine: Engine, source: str) -> bool:
    from opsbook.backups import records
    from opsbook.backups.records import EventKind

    found = records.events(engine, source=source, kind=EventKind.BACKUP, limit=20)
    return any(e.backup_id for e in found)
