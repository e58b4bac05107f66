"""The board's 24-hour sparklines and uptime for every check, read in one grouped query
(raw results and their 5-minute rollups, by hour) and kept for a minute: a board of a
thousand checks must not cost a thousand queries per viewer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from sqlalchemy import Engine, Integer, case, cast, func, select

from opsbook.status import Status
from opsbook.store.tables import check_results, check_rollups
from opsbook.store.tx import read

HOURS = 24
KEEP_FOR = 60.0  # seconds a read serves the board
FROM_RANK = {0: 0, 1: 1, 2: 3, 3: 2}  # rank of "worst of" -> the status's value


@dataclass(frozen=True)
class Spark:
    worst: tuple[int | None, ...]  # the worst status of each hour (None: no result)
    mean: tuple[float | None, ...]  # the mean value of each hour
    uptime: float | None  # the share of OK results over the hours


def _bucket(engine: Engine, column: Any, size: int) -> Any:
    if engine.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / size), Integer)
    return cast(func.strftime("%s", column), Integer) / size


def read_sparks(
    engine: Engine,
    now: datetime,
    *,
    size: int = 3600,
    count: int = HOURS,
    checks: list[str] | None = None,
) -> dict[str, Spark]:
    """Each check's last ``count`` buckets of ``size`` seconds (UTC-aligned), oldest first."""
    since = now - timedelta(seconds=size * count)
    first = int(since.timestamp()) // size + 1
    acc: dict[str, dict[int, list[float]]] = {}  # check -> hour -> [n, ok, worst, sum, valued]

    def add(check: str, hour: int, n: float, ok: float, worst: float, total: float,
            valued: float) -> None:  # fmt: skip
        slot = acc.setdefault(check, {}).setdefault(hour, [0, 0, 0, 0.0, 0])
        slot[0] += n
        slot[1] += ok
        slot[2] = max(slot[2], worst)
        slot[3] += total
        slot[4] += valued

    r, k = check_results.c, check_rollups.c
    hour_r, hour_k = _bucket(engine, r.at, size), _bucket(engine, k.bucket, size)
    only_r = [r.check_name.in_(checks)] if checks is not None else []
    only_k = [k.check_name.in_(checks)] if checks is not None else []
    # worst of: CRITICAL (ranked 3) beats UNKNOWN (2) beats WARNING beats OK
    rank_r = case((r.status == 2, 3), (r.status == 3, 2), else_=r.status)
    with read(engine) as conn:
        raw = conn.execute(
            select(r.check_name, hour_r, func.count(), func.sum(case((r.status == 0, 1), else_=0)),
                   func.max(rank_r), func.coalesce(func.sum(r.value), 0.0), func.count(r.value))
            .where(r.at >= since, *only_r).group_by(r.check_name, hour_r)
        )  # fmt: skip
        for check, hour, n, ok, worst, total, valued in raw:
            add(check, int(hour), n, ok or 0, worst or 0, float(total), valued)
        worst_k = case((k.critical > 0, 3), (k.unknown > 0, 2), (k.warning > 0, 1), else_=0)
        rolled = conn.execute(
            select(k.check_name, hour_k, func.sum(k.samples), func.sum(k.ok), func.max(worst_k),
                   func.coalesce(func.sum(k.value_avg * k.samples), 0.0),
                   func.sum(case((k.value_avg.is_not(None), k.samples), else_=0)))
            .where(k.bucket >= since, *only_k).group_by(k.check_name, hour_k)
        )  # fmt: skip
        for check, hour, n, ok, worst, total, valued in rolled:
            add(check, int(hour), n or 0, ok or 0, worst or 0, float(total), valued or 0)
    out = {}
    for check, hours in acc.items():
        slots = [hours.get(first + i) for i in range(count)]
        n = sum(s[0] for s in slots if s)
        ok = sum(s[1] for s in slots if s)
        out[check] = Spark(
            tuple(FROM_RANK[int(s[2])] if s else None for s in slots),
            tuple(s[3] / s[4] if s and s[4] else None for s in slots),
            ok / n if n else None,
        )
    return out


class SparkCache:
    def __init__(self) -> None:
        self.read_at = -KEEP_FOR
        self.sparks: dict[str, Spark] = {}

    def get(self, engine: Engine, now: datetime) -> dict[str, Spark]:
        """Called in the store thread."""
        if time.monotonic() - self.read_at >= KEEP_FOR:
            self.sparks = read_sparks(engine, now)
            self.read_at = time.monotonic()
        return self.sparks


def svg(spark: Spark | None) -> str:
    """Bars an hour wide, as tall as the hour's mean value, coloured by its worst status."""
    if spark is None:
        return ""
    top = max((v for v in spark.mean if v is not None), default=0.0) or 1.0
    bars = []
    for i, (worst, mean) in enumerate(zip(spark.worst, spark.mean, strict=True)):
        if worst is None:
            continue
        h = 3 + 15 * max(mean or 0.0, 0.0) / top
        when = "this hour" if i == HOURS - 1 else f"{HOURS - 1 - i} h before this hour"
        label = f"{when}: {Status(worst).name}"
        if mean is not None:
            label += f", mean {mean:.4g}"
        bars.append(f'<rect class="s{worst}" x="{i * 4}" y="{20 - h:.1f}" width="3" '
                    f'height="{h:.1f}"><title>{escape(label)}</title></rect>')  # fmt: skip
    return ('<svg class="spark" viewBox="0 0 96 20" width="96" height="20" role="img" '
            f'aria-label="the last 24 hours">{"".join(bars)}</svg>')  # fmt: skip
