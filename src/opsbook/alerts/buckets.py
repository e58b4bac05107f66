"""Checks' results in fixed buckets (an hour for the board's sparklines, a day for the
status page's 90 days): the worst status, the mean value and the share of OK results of
each, read in one grouped query over raw results and their 5-minute rollups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Integer, case, cast, func, select

from opsbook.store.tables import check_results, check_rollups
from opsbook.store.tx import read

HOURS = 24
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
