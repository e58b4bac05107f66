"""Kernel counters (/proc/stat, /proc/diskstats, /proc/net/dev) turned into rates.

Each cpu/diskio/network check keeps its last reading here, by check name: ``opsbook serve``
measures the change since the check's previous run (as Prometheus's rate() over a
node_exporter scrape would), a one-shot ``opsbook check`` takes a reading, waits ``sample``
and takes another.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from opsbook.errors import CheckUnavailable

T = TypeVar("T")
_LAST: dict[tuple[str, str], tuple[float, object]] = {}
MAX_AGE = 3600.0  # an older previous reading is stale: sample afresh


async def between(
    kind: str, name: str, read: Callable[[], T], sample: float, *, threaded: bool = False
) -> tuple[T, T, float]:
    """(the earlier reading, the later one, seconds between them). ``threaded``: ``read``
    blocks on the network (a database's counters), so it runs in a worker thread."""
    key = (kind, name)
    now = time.monotonic()
    latest = await _take(read, threaded)
    before = _LAST.get(key)
    _LAST[key] = (now, latest)
    # half a sample is enough: a run every second (interval ±5 % jitter) must not wait for a
    # fresh sample each time its previous run came a little early
    if before is not None and sample / 2 <= now - before[0] <= MAX_AGE:
        return before[1], latest, now - before[0]  # type: ignore[return-value]
    await asyncio.sleep(sample)
    later = await _take(read, threaded)
    later_at = time.monotonic()
    _LAST[key] = (later_at, later)
    return latest, later, later_at - now


async def _take(read: Callable[[], T], threaded: bool) -> T:
    return await asyncio.to_thread(_read, read) if threaded else _read(read)


def _read(read: Callable[[], T]) -> T:
    try:
        return read()
    except FileNotFoundError as exc:  # not Linux, or /proc not mounted in this container
        raise CheckUnavailable(
            f"cannot read {exc.filename}: this check needs Linux's /proc"
        ) from None


def forget() -> None:
    _LAST.clear()
