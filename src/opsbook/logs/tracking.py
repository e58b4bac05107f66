"""Live state behind the ``log`` and ``log_errors`` checks: what a followed log says now.

``opsbook serve`` keeps one watch per file between runs, so each run reads only what was
written since the last; ``opsbook check`` starts fresh and reads the file's tail. Either
way the window is measured on the log's own timestamps, not on when lines were read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from opsbook.logs.errorlog import Level, entries
from opsbook.logs.follow import TAIL_BYTES, Follower
from opsbook.logs.formats import LogFormat, compile_format, detect_format
from opsbook.logs.parse import parse_chunk
from opsbook.logs.reader import Chunk

if TYPE_CHECKING:
    from drain3 import TemplateMiner

MIN_BAND_MINUTES = 30  # history needed before "unusual traffic" is judged
_EMPTY = pl.DataFrame(
    schema={"ts": pl.Datetime("us", "UTC"), "status": pl.Int16, "ms": pl.Int32, "route": pl.Utf8}
)


def previous_file(path: str) -> str | None:
    """The plain file logrotate rotated ``path`` into last (delaycompress keeps it plain)."""
    import glob
    import os

    names = [n for n in (*glob.glob(glob.escape(path) + ".1"), *glob.glob(glob.escape(path) + "-*"))
             if not n.endswith((".gz", ".zst", ".bz2", ".xz"))]  # fmt: skip
    return max(names, key=os.path.getmtime) if names else None


@dataclass(frozen=True, slots=True)
class Band:
    low: float  # requests per second
    high: float
    minutes: int  # of history it was learnt from


@dataclass(frozen=True, slots=True)
class Window:
    seconds: float
    requests: int
    s5xx: int
    p95: float | None  # seconds
    rate: float  # requests per second
    band: Band | None
    unparsed: int
    timed: bool
    last_seen: datetime | None = None  # the newest request read so far, in or out of the window
    # the busiest routes: (route, requests, p95 seconds or None, 5xx)
    routes: tuple[tuple[str, int, float | None, int], ...] = ()

    @property
    def error_share(self) -> float:
        return self.s5xx / self.requests if self.requests else 0.0


class AccessTracker:
    def __init__(self, path: str, log_format: str | None, tail_bytes: int = TAIL_BYTES) -> None:
        self.follower = Follower(path, tail_bytes)
        self.fmt: LogFormat | None = compile_format(log_format) if log_format else None
        self.rows = _EMPTY
        self.minutes: dict[datetime, int] = {}
        self.unparsed = 0
        self.last_seen: datetime | None = None
        self._started = False

    def read_new(self) -> pl.DataFrame:
        """Rows (ts, status, ms) of the lines written since the last read."""
        data = self.follower.read().data
        if not data:
            return _EMPTY
        chunk = Chunk(self.follower.path, 1, data, 0)
        if self.fmt is None:
            self.fmt = detect_format(chunk.head())
        rows, bad = parse_chunk(chunk, self.fmt)
        self.unparsed += bad.height
        rows = rows.select("ts", "status", "ms", "route")
        newest = rows["ts"].max()
        if isinstance(newest, datetime) and (self.last_seen is None or newest > self.last_seen):
            self.last_seen = newest
        per_minute = rows.group_by(pl.col("ts").dt.truncate("1m")).agg(pl.len())
        for minute, count in per_minute.iter_rows():
            self.minutes[minute] = self.minutes.get(minute, 0) + count
        return rows

    def _previous(self, start: datetime) -> pl.DataFrame:
        """Rows at or after ``start`` from the file rotated out last (access.log.1, or a
        dateext access.log-20261202), read from its tail."""
        before = previous_file(self.follower.path)
        if before is None or self.fmt is None:
            return _EMPTY
        tail = Follower(before, self.follower.tail_bytes)
        try:
            data = tail.read().data
        finally:
            tail.close()
        rows, _ = parse_chunk(Chunk(before, 1, data, 0), self.fmt)
        return rows.select("ts", "status", "ms", "route").filter(pl.col("ts") >= start)

    def stats(
        self, rows: pl.DataFrame, seconds: float, band: Band | None = None, routes: int = 0
    ) -> Window:
        ms = rows["ms"].drop_nulls()
        p95 = ms.quantile(0.95, "linear") if len(ms) else None
        return Window(
            seconds=seconds,
            requests=rows.height,
            s5xx=rows.filter(pl.col("status") >= 500).height,
            p95=p95 / 1000 if p95 is not None else None,
            rate=rows.height / seconds,
            band=band,
            unparsed=self.unparsed,
            timed=self.fmt is not None and self.fmt.latency_field is not None,
            last_seen=self.last_seen,
            routes=_busiest(rows, routes) if routes else (),
        )

    def update(
        self, now: datetime, window: float, history: float, sigma: float, routes: int = 0
    ) -> Window:
        """The window ending now, by the log's own timestamps."""
        first_read = not self._started
        self._started = True
        fresh = self.read_new()
        start = now - timedelta(seconds=window)
        oldest = fresh["ts"].min()
        if first_read and (not isinstance(oldest, datetime) or oldest > start):
            # the file begins inside the window (rotated since): the rest is in the last one
            fresh = pl.concat([self._previous(start), fresh])
        self.rows = pl.concat([self.rows, fresh])
        self.rows = self.rows.filter(pl.col("ts") >= start)
        oldest = now - timedelta(seconds=history)
        self.minutes = {m: n for m, n in self.minutes.items() if m >= oldest}
        return self.stats(self.rows, window, self._band(start, sigma), routes)

    def _band(self, window_start: datetime, sigma: float) -> Band | None:
        """mean ± sigma·sd of the per-minute rate over the history before the window; the
        first and last minutes seen are partial and left out, silent minutes count as 0."""
        if not self.minutes:
            return None
        first = min(self.minutes) + timedelta(minutes=1)
        last = window_start.replace(second=0, microsecond=0) - timedelta(minutes=1)
        count = int((last - first).total_seconds() // 60) + 1
        if count < MIN_BAND_MINUTES:
            return None
        rates = [self.minutes.get(first + timedelta(minutes=i), 0) / 60 for i in range(count)]
        mean = sum(rates) / count
        sd = math.sqrt(sum((r - mean) ** 2 for r in rates) / count)
        spread = max(sigma * sd, 0.2 * mean)  # a perfectly steady history is not a zero band
        return Band(max(0.0, mean - spread), mean + spread, count)


def _busiest(rows: pl.DataFrame, top: int) -> tuple[tuple[str, int, float | None, int], ...]:
    """Requests, P95 and 5xx of the ``top`` busiest routes in the window."""
    if not rows.height:
        return ()
    per = (
        rows.group_by("route")
        .agg(
            pl.len().alias("n"),
            pl.col("ms").quantile(0.95, "linear").alias("p95"),
            (pl.col("status") >= 500).sum().alias("s5xx"),
        )
        .sort(["n", "route"], descending=[True, False])
        .head(top)
    )
    return tuple(
        (str(route), int(n), p95 / 1000 if p95 is not None else None, int(s5xx))
        for route, n, p95, s5xx in per.iter_rows()
    )


@dataclass
class Seen:
    template: str
    first: datetime
    count: int = 1
    example: str = ""


@dataclass
class ErrorTracker:
    """Templates known from a baseline or from the history read before the window; what
    appears later and matches none of them is new."""

    follower: Follower
    min_level: Level | None
    baseline_state: bytes | None = None
    known: set[int] = field(default_factory=set)
    new: dict[int, Seen] = field(default_factory=dict)
    _miner: TemplateMiner | None = None

    def update(self, now: datetime, window: float) -> list[Seen]:
        from opsbook.logs.templates import miner_for

        # Lines without a time: on the first read they are the file's past (history);
        # afterwards they were written since the last read, i.e. now.
        undated_at = now - timedelta(seconds=window + 1) if self._miner is None else now
        if self._miner is None:
            self._miner = miner_for(self.baseline_state)
            self.known = {c.cluster_id for c in self._miner.drain.clusters}
        miner = self._miner
        start = now - timedelta(seconds=window)
        data = self.follower.read().data
        for entry in entries(data.decode("utf-8", "replace").splitlines()):
            if entry.milder_than(self.min_level):
                continue
            cluster = miner.add_log_message(entry.message)
            cid = cluster["cluster_id"]
            if cid in self.known:
                continue
            at = entry.at or undated_at
            if at < start and cid not in self.new:
                self.known.add(cid)  # part of the history: it is how this log normally looks
            elif cid in self.new:
                self.new[cid].count += 1
                self.new[cid].template = cluster["template_mined"]
            else:
                self.new[cid] = Seen(cluster["template_mined"], at, 1, entry.raw[:300])
        for cid in [c for c, s in self.new.items() if s.first < start]:
            self.known.add(cid)  # reported for a whole window; now it is known
            del self.new[cid]
        return sorted(self.new.values(), key=lambda s: s.first)
