"""A check's measurements over time, from the store: raw rows while they last, then the
5-minute rollups. What `opsbook history` lists and what trend rules compare.

A check's main value is the series named ``value`` (check_results / check_rollups); every
other measurement has its own name (check_metrics / metric_rollups).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select

from opsbook.store.tables import check_metrics, check_results, check_rollups, metric_rollups
from opsbook.store.tx import read

MAIN = "value"


@dataclass(frozen=True)
class Summary:
    """One measurement over a span."""

    name: str
    samples: int
    minimum: float
    mean: float
    maximum: float
    latest: float | None  # the newest raw value (None once only rollups remain)
    latest_at: datetime | None


@dataclass(frozen=True)
class Point:
    """One step of a series: what the samples inside it were."""

    at: datetime  # the step's start
    samples: int
    minimum: float
    mean: float
    maximum: float


def summaries(
    engine: Engine, check: str, since: datetime, until: datetime | None = None
) -> list[Summary]:
    """Every measurement the check recorded in [since, until), the main value first."""
    acc: dict[str, list[float]] = {}  # name -> [samples, min, sum, max]
    latest: dict[str, tuple[datetime, float]] = {}
    with read(engine) as conn:
        for name, n, low, total, high in _aggregates(conn, check, since, until):
            _add(acc, name, int(n), float(low), float(total), float(high))
        for name, at, value in _latest(conn, check, since, until):
            latest[name] = (at, float(value))
    out = []
    for name in sorted(acc, key=lambda n: (n != MAIN, n)):
        n, low, total, high = acc[name]
        seen = latest.get(name)
        out.append(Summary(name, int(n), low, total / n, high,
                           seen[1] if seen else None, seen[0] if seen else None))  # fmt: skip
    return out


def mean_between(
    engine: Engine, check: str, name: str, start: datetime, end: datetime
) -> tuple[float, int] | None:
    """(mean, samples) of one measurement over [start, end), or None when nothing was recorded."""
    found = [s for s in summaries(engine, check, start, end) if s.name == name]
    return (found[0].mean, found[0].samples) if found else None


def series(
    engine: Engine, check: str, name: str, since: datetime, until: datetime, step: float
) -> list[Point]:
    """The measurement in steps of ``step`` seconds (empty steps left out)."""
    raw, rolled, raw_value, rolled_value = _tables(name)
    steps: dict[int, list[float]] = {}
    origin = since.timestamp()
    with read(engine) as conn:
        r = conn.execute(
            select(raw.c.at, raw_value).where(*_where(raw, raw.c.at, check, name, since, until))
        )
        for at, value in r:
            if value is not None:
                _step(steps, at, origin, step, 1, value, value, value)
        k = rolled.c
        r = conn.execute(
            select(k.bucket, k.samples, k.value_min, rolled_value, k.value_max).where(
                *_where(rolled, k.bucket, check, name, since, until), k.value_min.is_not(None)
            )
        )
        for at, n, low, mean, high in r:
            _step(steps, at, origin, step, int(n), low, mean * n, high)
    return [
        Point(datetime.fromtimestamp(origin + i * step, UTC), int(n), low, total / n, high)
        for i, (n, low, total, high) in sorted(steps.items())
    ]


def _step(steps: dict[int, list[float]], at: datetime, origin: float, step: float,
          n: int, low: float, total: float, high: float) -> None:  # fmt: skip
    _add(steps, int((at.timestamp() - origin) // step), n, low, total, high)


def _tables(name: str) -> tuple[Table, Table, Any, Any]:
    if name == MAIN:
        return check_results, check_rollups, check_results.c.value, check_rollups.c.value_avg
    return check_metrics, metric_rollups, check_metrics.c.value, metric_rollups.c.value_avg


def _where(table: Table, at: Any, check: str, name: str | None,
           since: datetime, until: datetime | None) -> list[Any]:  # fmt: skip
    clauses = [table.c.check_name == check, at >= since]
    if until is not None:
        clauses.append(at < until)
    if name is not None and name != MAIN and "name" in table.c:
        clauses.append(table.c.name == name)
    return clauses


def _aggregates(conn: Connection, check: str, since: datetime, until: datetime | None) -> list[Any]:
    r, m, cr, mr = check_results.c, check_metrics.c, check_rollups.c, metric_rollups.c
    rows: list[Any] = []
    main_raw = select(func.count(r.value), func.min(r.value), func.sum(r.value), func.max(r.value))
    one = conn.execute(
        main_raw.where(*_where(check_results, r.at, check, None, since, until))
    ).one()
    if one[0]:
        rows.append((MAIN, *one))
    main_rolled = select(
        func.sum(cr.samples),
        func.min(cr.value_min),
        func.sum(cr.value_avg * cr.samples),
        func.max(cr.value_max),
    ).where(*_where(check_rollups, cr.bucket, check, None, since, until), cr.value_min.is_not(None))
    one = conn.execute(main_rolled).one()
    if one[0]:
        rows.append((MAIN, *one))
    rows += conn.execute(
        select(m.name, func.count(), func.min(m.value), func.sum(m.value), func.max(m.value))
        .where(*_where(check_metrics, m.at, check, None, since, until))
        .group_by(m.name)
    ).all()
    rows += conn.execute(
        select(mr.name, func.sum(mr.samples), func.min(mr.value_min),
               func.sum(mr.value_avg * mr.samples), func.max(mr.value_max))
        .where(*_where(metric_rollups, mr.bucket, check, None, since, until))
        .group_by(mr.name)
    ).all()  # fmt: skip
    return rows


def _latest(conn: Connection, check: str, since: datetime, until: datetime | None) -> list[Any]:
    r, m = check_results.c, check_metrics.c
    out: list[Any] = []
    newest = conn.execute(
        select(r.at, r.value)
        .where(*_where(check_results, r.at, check, None, since, until), r.value.is_not(None))
        .order_by(r.at.desc())
        .limit(1)
    ).first()
    if newest is not None:
        out.append((MAIN, *newest))
    last = (
        select(m.name, func.max(m.at).label("at"))
        .where(*_where(check_metrics, m.at, check, None, since, until))
        .group_by(m.name)
        .subquery()
    )
    out += conn.execute(
        select(m.name, m.at, m.value)
        .join(last, (m.name == last.c.name) & (m.at == last.c.at))
        .where(m.check_name == check)
    ).all()
    return out


def _add(
    acc: dict[Any, list[float]], key: Any, n: int, low: float, total: float, high: float
) -> None:
    cur = acc.get(key)
    if cur is None:
        acc[key] = [n, low, total, high]
    else:
        cur[0] += n
        cur[1] = min(cur[1], low)
        cur[2] += total
        cur[3] = max(cur[3], high)


def recorded_as(engine: Engine, check: str) -> list[str]:
    """The names a check's results are stored under: itself, or one per host when every
    instance of a deployment runs it (``disk@monitor-a``, docs/ha.md)."""
    names: set[str] = set()
    with read(engine) as conn:
        for table in (check_results, check_rollups):
            column = table.c.check_name
            found = conn.execute(
                select(column).where((column == check) | column.like(f"{check}@%")).distinct()
            ).scalars()
            names.update(n for n in found if n == check or n.startswith(f"{check}@"))
    return sorted(names) or [check]
