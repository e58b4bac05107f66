"""Results from the scheduler to the store and the alert processor, in batches.

A batch is what the queue holds when the pipeline looks. Healthy results that cannot move an
alert may wait up to QUIET_BATCH for company (one transaction a second instead of one per
result: checks every second cost less); the first result that may move an alert ends the
wait, so a failure is never held back.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from opsbook.results import Result

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

MAX_BATCH = 1000
QUIET_BATCH = 1.0  # seconds


async def pipeline(d: Daemon, quiet: float = QUIET_BATCH) -> None:
    while True:
        try:
            first = await asyncio.wait_for(d.queue.get(), timeout=0.5)
        except TimeoutError:
            if d.leader_stop.is_set() and d.queue.empty():
                return
            continue
        batch = [first]
        while not d.queue.empty() and len(batch) < MAX_BATCH:
            batch.append(d.queue.get_nowait())
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
