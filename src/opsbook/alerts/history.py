"""A check's history from the store: uptime over a span and the periods of each status.

Recent results come from the raw table; older spans from the 5-minute rollups (counts only,
so periods are drawn from raw results).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from opsbook.status import Status
from opsbook.store.tables import check_results, check_rollups
from opsbook.store.tx import read


@dataclass(frozen=True)
class Period:
    status: Status
    start: datetime
    end: datetime  # the last result with this status
    results: int
    message: str  # the first result's message


@dataclass(frozen=True)
class History:
    check: str
    since: datetime  # what was asked for
    counts: Counter[Status] = field(default_factory=Counter)
    periods: tuple[Period, ...] = ()
    first: datetime | None = None  # the oldest result counted: where the data really starts

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def uptime(self) -> float | None:
        """Share of results that were OK."""
        return self.counts[Status.OK] / self.total if self.total else None


def read_history(engine: Engine, check: str, since: datetime) -> History:
    counts: Counter[Status] = Counter()
    periods: list[Period] = []
    with read(engine) as conn:
        rollups = conn.execute(
            select(
                func.coalesce(func.sum(check_rollups.c.ok), 0),
                func.coalesce(func.sum(check_rollups.c.warning), 0),
                func.coalesce(func.sum(check_rollups.c.critical), 0),
                func.coalesce(func.sum(check_rollups.c.unknown), 0),
                func.min(check_rollups.c.bucket),
            ).where(check_rollups.c.check_name == check, check_rollups.c.bucket >= since)
        ).one()
        first = _aware(rollups[-1])
        for status, n in zip(Status, rollups[:-1], strict=True):
            counts[status] += int(n)
        rows = conn.execute(
            select(check_results.c.at, check_results.c.status, check_results.c.message)
            .where(check_results.c.check_name == check, check_results.c.at >= since)
            .order_by(check_results.c.at)
        )
        current: list[tuple[datetime, Status, str]] = []
        for at, status_value, message in rows:
            status = Status(status_value)
            counts[status] += 1
            if current and current[0][1] is not status:
                periods.append(_period(current))
                current = []
            current.append((at, status, message))
        if current:
            periods.append(_period(current))
    if periods and (first is None or periods[0].start < first):
        first = periods[0].start
    return History(check, since, counts, tuple(periods), first)


def _aware(at: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes: they are UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _period(run: list[tuple[datetime, Status, str]]) -> Period:
    return Period(run[0][1], run[0][0], run[-1][0], len(run), run[0][2])
