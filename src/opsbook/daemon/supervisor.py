"""One policy for every long-running task of the daemon.

A task that raises is logged with its traceback, counted, reported (``/health`` says which
task and why, and the daemon raises an alert about itself), and started again after a pause
that doubles from 1 s to a minute; a task that then runs for a minute without failing is
healthy again. A task that returns has finished on purpose (the scheduler returns once
stopped). Nothing a task does can end another, or end the daemon silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("opsbook")
FIRST_PAUSE = 1.0
MAX_PAUSE = 60.0
HEALTHY_AFTER = 60.0  # seconds of running without a crash that clear a task's record

Factory = Callable[[], Awaitable[None]]
OnCrash = Callable[[str, BaseException, int], Awaitable[None]]  # name, error, crashes in a row


@dataclass
class TaskRecord:
    name: str
    crashes: int = 0  # in a row
    restarts: int = 0  # ever
    last_error: str = ""
    started_at: float = 0.0
    crashed_at: float = -1.0
    finished: bool = False

    def failing(self, now: float, healthy_after: float) -> bool:
        """Crashed, and not yet restarted and running long enough to count as healthy."""
        if not self.crashes:
            return False
        return self.started_at <= self.crashed_at or now - self.started_at < healthy_after


class Supervisor:
    def __init__(
        self,
        *,
        on_crash: OnCrash | None = None,
        first_pause: float = FIRST_PAUSE,
        healthy_after: float = HEALTHY_AFTER,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.on_crash = on_crash
        self.sleep = sleep
        self.first_pause = first_pause
        self.healthy_after = healthy_after
        self.clock = clock
        self.records: dict[str, TaskRecord] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, factory: Factory) -> None:
        running = self._tasks.get(name)
        if running is not None and not running.done():  # a second copy would double its work
            log.error("task %s is already running; not starting another", name)
            return
        self.records[name] = TaskRecord(name)
        self._tasks[name] = asyncio.create_task(self._keep(name, factory), name=name)

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    def problems(self) -> list[str]:
        """What /health reports: tasks that crashed and have not run a minute since."""
        now = self.clock()
        return [
            f"task {r.name} crashed {r.crashes} time{'s' if r.crashes != 1 else ''}: {r.last_error}"
            for r in self.records.values()
            if r.failing(now, self.healthy_after)
        ]

    def recovered(self) -> list[str]:
        """Tasks that crashed and have since run long enough: their record is cleared."""
        now = self.clock()
        healed = [
            r for r in self.records.values() if r.crashes and not r.failing(now, self.healthy_after)
        ]
        for record in healed:
            record.crashes = 0
        return [r.name for r in healed]

    async def wait(self, *names: str, timeout: float | None = None) -> None:
        """Until these tasks have finished (or the timeout); they are not cancelled."""
        tasks = {self._tasks[n] for n in names if n in self._tasks}
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def cancel(self, *names: str) -> None:
        """Cancel these tasks (all when none is named) and wait until they have ended."""
        tasks = [self._tasks[n] for n in (names or tuple(self._tasks)) if n in self._tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep(self, name: str, factory: Factory) -> None:
        record = self.records[name]
        pause = self.first_pause
        while True:
            record.started_at = self.clock()
            try:
                await factory()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                record.crashed_at = self.clock()
                if record.crashed_at - record.started_at >= self.healthy_after:
                    record.crashes, pause = 0, self.first_pause  # it had been fine a while
                record.crashes += 1
                record.restarts += 1
                record.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.exception(
                    "task %s crashed (%d in a row); restarting in %.0f s",
                    name,
                    record.crashes,
                    pause,
                )
                await self._tell(name, exc, record.crashes)
                await self.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)
                continue
            record.finished = True
            return

    async def _tell(self, name: str, exc: BaseException, crashes: int) -> None:
        if self.on_crash is None:
            return
        try:
            await self.on_crash(name, exc, crashes)
        except Exception:  # the alert about a crash must not crash the supervisor
            log.exception("could not raise an alert about task %s", name)
