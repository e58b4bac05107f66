"""Results from the scheduler to the store and the alert processor, in batches; and, on the
leader, what followers passed through the store.

A batch is what the queue holds when the pipeline looks. Healthy results that cannot move an
alert may wait up to QUIET_BATCH for company (one transaction a second instead of one per
result: checks every second cost less); the first result that may move an alert ends the
wait, so a failure is never held back.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from opsbook.alerts.relay import done, results_done, waiting, waiting_results
from opsbook.results import Result

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

MAX_BATCH = 1000
QUIET_BATCH = 1.0  # seconds


async def next_batch(queue: asyncio.Queue[Result], stop: asyncio.Event) -> list[Result] | None:
    """What the queue holds once it holds something (up to MAX_BATCH); None once ``stop``
    is set and the queue is empty."""
    while True:
        try:
            first = await asyncio.wait_for(queue.get(), timeout=0.5)
        except TimeoutError:
            if stop.is_set() and queue.empty():
                return None
            continue
        batch = [first]
        while not queue.empty() and len(batch) < MAX_BATCH:
            batch.append(queue.get_nowait())
        return batch


async def pipeline(d: Daemon, quiet: float = QUIET_BATCH) -> None:
    while (batch := await next_batch(d.queue, d.leader_stop)) is not None:
        if not any(map(d.processor.urgent, batch)):
            await _gather(d, batch, quiet)
        d.state.backlog = d.queue.qsize()
        await d.process(batch)


async def _gather(d: Daemon, batch: list[Result], quiet: float) -> None:
    deadline = time.monotonic() + quiet
    while len(batch) < MAX_BATCH and not d.leader_stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            result = await asyncio.wait_for(d.queue.get(), timeout=left)
        except TimeoutError:
            return
        batch.append(result)
        if d.processor.urgent(result):
            return


async def take_relayed(d: Daemon) -> bool:
    """The leader's round over what followers stored: their own hosts' results (stored and
    judged here) and the alerts posted to their intake (processed as if posted here)."""
    engine = d.store.engine
    results = await d.in_store(lambda: waiting_results(engine))
    if results:
        for _, result in results:
            d.on_result(result, 0.0, queue=False)
        if await d.process([r for _, r in results]):
            ids = [i for i, _ in results]
            await d.in_store(lambda: results_done(engine, ids))
    found = await d.in_store(lambda: waiting(engine))
    if not found:
        return bool(results)
    await d.ingest([a for _, a in found])
    await d.in_store(lambda: done(engine, [i for i, _ in found]))
    return True
