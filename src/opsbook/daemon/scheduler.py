"""Running every check on its own interval, with jitter, under a concurrency limit.

Each check is due at its own time (spread over its first interval, then every interval with
±5 % jitter so checks configured alike do not march in step). A check still running when it
is due again is skipped, not doubled. Lag, how late a check starts against when it was due
(waiting for a free slot included), is what tells whether the machine keeps up.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections.abc import Callable, Mapping

from opsbook.checks import module_for
from opsbook.checks.runner import run_check
from opsbook.config.checks import CheckBase
from opsbook.results import Result
from opsbook.secrets import Redactor

JITTER = 0.05
FIRST_SPREAD_MAX = 10.0  # seconds over which the first runs are spread
GRACE = 5.0  # seconds in-flight checks get to finish at shutdown

OnResult = Callable[[Result, float], None]


class Scheduler:
    def __init__(
        self,
        checks: Mapping[str, CheckBase],
        redact: Redactor,
        on_result: OnResult,
        *,
        concurrency: int,
        rng: random.Random | None = None,
    ) -> None:
        self.checks = dict(checks)
        self.redact = redact
        self.on_result = on_result
        self.gate = asyncio.Semaphore(concurrency)
        self.rng = rng or random.Random()
        self.running: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.skipped = 0
        self.stopping = False
        self._added: list[str] = []  # checks a reload brought, for the loop to schedule
        for kind in {c.kind for c in self.checks.values()}:
            module_for(kind)  # import before the first run, not inside the loop

    def update(self, checks: Mapping[str, CheckBase]) -> None:
        """A reload: new checks are scheduled (spread over their first interval), removed ones
        are not run again (one in flight finishes), the others keep their place and use their
        new settings from their next run."""
        for kind in {c.kind for c in checks.values()}:
            module_for(kind)
        self._added += [name for name in checks if name not in self.checks]
        self.checks = dict(checks)

    def _next(self, due: float, interval: float) -> float:
        return due + interval * (1 + self.rng.uniform(-JITTER, JITTER))

    async def run(self, stop: asyncio.Event) -> None:
        now = time.monotonic()
        heap: list[tuple[float, int, str]] = []
        for seq, (name, check) in enumerate(self.checks.items()):
            spread = min(float(check.interval), FIRST_SPREAD_MAX)
            heapq.heappush(heap, (now + self.rng.uniform(0, spread), seq, name))
        seq = len(heap)
        while not stop.is_set():
            while self._added:  # from a reload
                name = self._added.pop()
                spread = min(float(self.checks[name].interval), FIRST_SPREAD_MAX)
                seq += 1
                heapq.heappush(heap, (time.monotonic() + self.rng.uniform(0, spread), seq, name))
            if not heap:
                await asyncio.sleep(0.5)
                continue
            due, seq_of, name = heap[0]
            if name not in self.checks:  # removed by a reload
                heapq.heappop(heap)
                continue
            delay = due - time.monotonic()
            if delay > 0:
                # Short naps rather than waiting on `stop`: cheap at thousands of checks, and
                # a stop is noticed within half a second.
                await asyncio.sleep(min(delay, 0.5))
                continue
            heapq.heappop(heap)
            interval = float(self.checks[name].interval)
            # Far behind (the machine was asleep, or overloaded): catch up once, not in a burst.
            heapq.heappush(heap, (max(self._next(due, interval), time.monotonic()), seq_of, name))
            if name in self.running:
                self.skipped += 1
                continue
            self.running.add(name)
            task = asyncio.create_task(self._one(name, due), name=f"check:{name}")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        self.stopping = True
        await self._drain()

    def wake(self, name: str) -> None:
        """Run a check now (a watch connection closed); its regular schedule is unchanged."""
        if self.stopping or name in self.running or name not in self.checks:
            return
        self.running.add(name)
        task = asyncio.create_task(self._one(name, time.monotonic()), name=f"check:{name}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _one(self, name: str, due: float) -> None:
        try:
            async with self.gate:
                check = self.checks.get(name)
                if check is None:  # removed by a reload while it waited for a slot
                    return
                lag = max(0.0, time.monotonic() - due)
                result = await run_check(name, check, self.redact)
            self.on_result(result, lag)
        finally:
            self.running.discard(name)

    async def _drain(self) -> None:
        """Let in-flight checks finish for a few seconds, then abandon the rest."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(set(self.tasks), timeout=GRACE)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
