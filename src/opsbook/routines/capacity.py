"""The monthly capacity review: from the history opsbook serve stored (raw results, then the
5-minute rollups kept 90 days), when each resource reaches its limit.

Each series is read as its daily maxima (capacity is about the peaks), and a Theil-Sen line
is drawn through them (the median of pairwise slopes: a one-off spike moves it little); the
pairs' 10th and 90th percentile slopes give the band. Days until the limit are counted from
the line's value today. Fewer days of data than ``min_history`` is said plainly, never
extrapolated.

What is forecast by default: the `used` share of every disk and memory check, Redis's
`memory_used`, PostgreSQL's `connections_used` (all against 100 %), every database size a
pgstats check records and the request rate of log checks (growth only, unless ``limits:``
gives them one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from opsbook.config.checks import CheckBase
from opsbook.config.jobs import CapacityJob
from opsbook.results import CheckKind
from opsbook.routines.model import ActionReport, Area, Finding, markdown
from opsbook.stats import theil_sen
from opsbook.status import Status
from opsbook.units import format_bytes, format_duration

DAY = 86400.0
PERCENT_OF = {CheckKind.DISK: "used", CheckKind.MEMORY: "used", CheckKind.REDIS: "memory_used",
              CheckKind.POSTGRES: "connections_used"}  # fmt: skip


@dataclass(frozen=True)
class Target:
    check: str
    measurement: str
    limit: float | None
    unit: str  # "%", "B", ""

    @property
    def key(self) -> str:
        return f"{self.check}.{self.measurement}"


@dataclass(frozen=True)
class Forecast:
    target: Target
    days: list[tuple[datetime, float]]  # daily maxima
    slope: float | None = None  # per day
    intercept: float | None = None  # at the first day
    low: float | None = None
    high: float | None = None
    now: float | None = None  # the line's value today
    days_left: float | None = None  # until the limit, on the line
    earliest: float | None = None  # on the high slope
    latest: float | None = None  # on the low slope (None: not within any horizon)
    why_not: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"series": self.target.key, "limit": self.target.limit, "unit": self.target.unit,
                "days_of_data": len(self.days), "slope_per_day": self.slope,
                "band_per_day": [self.low, self.high], "now": self.now,
                "days_left": self.days_left, "earliest": self.earliest, "latest": self.latest,
                "why_not": self.why_not}  # fmt: skip


def targets(checks: dict[str, CheckBase], job: CapacityJob, engine: Engine) -> list[Target]:
    from opsbook.alerts.series import recorded_as

    out: dict[str, Target] = {}
    for name, check in checks.items():
        if check.kind in PERCENT_OF:
            out[f"{name}.{PERCENT_OF[check.kind]}"] = Target(name, PERCENT_OF[check.kind],
                                                             100.0, "%")  # fmt: skip
        elif check.kind is CheckKind.PGSTATS:
            for m in recorded_as(engine, name):
                if m.startswith("db_") and m.endswith("_bytes"):
                    out[f"{name}.{m}"] = Target(name, m, None, "B")
        elif check.kind is CheckKind.LOG:
            out[f"{name}.rate"] = Target(name, "rate", None, "/s")
    for key in job.series:
        owner, _, measurement = key.partition(".")
        out.setdefault(key, Target(owner, measurement, None, ""))
    for key, limit in job.limits.items():
        owner, _, measurement = key.partition(".")
        found = out.get(key, Target(owner, measurement, None, ""))
        out[key] = Target(found.check, found.measurement, float(limit), found.unit)
    return list(out.values())


def forecast(engine: Engine, target: Target, job: CapacityJob, now: datetime) -> Forecast:
    from opsbook.alerts.series import series

    start = (now - timedelta(seconds=job.history)).replace(hour=0, minute=0, second=0,
                                                           microsecond=0)  # fmt: skip
    points = series(engine, target.check, target.measurement, start, now, DAY)
    days = [(p.at, p.maximum) for p in points]
    need = int(job.min_history // DAY)
    if len(days) < need:
        return Forecast(target, days, why_not=f"not enough history: {len(days)} day(s) of data, "
                                              f"{need} needed")  # fmt: skip
    origin = days[0][0]
    xs = [(at - origin).total_seconds() / DAY for at, _ in days]
    fit = theil_sen(xs, [v for _, v in days])
    if fit is None:
        return Forecast(target, days, why_not="not enough distinct days to draw a trend")
    slope, intercept, low, high = fit
    today = (now - origin).total_seconds() / DAY
    value = intercept + slope * today
    left = earliest = latest = None
    if target.limit is not None:
        room = target.limit - value
        left = 0.0 if room <= 0 else (room / slope if slope > 0 else None)
        earliest = 0.0 if room <= 0 else (room / high if high > 0 else None)
        latest = 0.0 if room <= 0 else (room / low if low > 0 else None)
    return Forecast(target, days, slope, intercept, low, high, value, left, earliest, latest)


def _amount(value: float, unit: str) -> str:
    if unit == "B":
        return format_bytes(value)
    if unit == "%":
        return f"{value:.1f} %"
    return f"{value:.3g}{unit}"


def _line(f: Forecast) -> str:
    t = f.target
    if f.why_not:
        return f"{t.key}: {f.why_not}"
    assert f.slope is not None and f.now is not None
    growth = f"{'+' if f.slope >= 0 else ''}{_amount(f.slope, t.unit)}/day"
    head = f"{t.key}: {_amount(f.now, t.unit)} now, {growth}"
    if t.limit is None:
        in30 = f.now + f.slope * 30
        return f"{head}; {_amount(in30, t.unit)} in 30 days (no limit set)"
    if f.days_left is None:
        return f"{head}; not heading for its limit {_amount(t.limit, t.unit)}"
    if f.days_left == 0:
        return f"{head}; AT its limit {_amount(t.limit, t.unit)}"
    band = ""
    if f.earliest is not None:
        late = f"{f.latest:.0f}" if f.latest is not None else "∞"
        band = f" ({f.earliest:.0f}–{late})"
    return f"{head}; reaches {_amount(t.limit, t.unit)} in {f.days_left:.0f} days{band}"


def perform(job: CapacityJob, checks: dict[str, CheckBase], engine: Engine,
            now: datetime) -> tuple[ActionReport, list[Forecast]]:  # fmt: skip
    found = [forecast(engine, t, job, now) for t in targets(checks, job, engine)]
    findings: list[Finding] = []
    for f in found:
        near = f.days_left is not None and f.days_left <= job.horizon / DAY
        status = Status.WARNING if near else Status.OK
        findings.append(Finding(status, Area.CAPACITY, _line(f)))
    soon = [f for f in found if f.days_left is not None and f.days_left <= job.horizon / DAY]
    thin = [f for f in found if f.why_not]
    summary = (f"{len(found)} series forecast; {len(soon)} reach their limit within "
               f"{format_duration(job.horizon)}")  # fmt: skip
    if soon:
        first = min(soon, key=lambda f: f.days_left or 0.0)
        summary += f" (first: {first.target.key} in {math.ceil(first.days_left or 0)} days)"
    if thin:
        summary += f"; {len(thin)} without enough history"
    figures = {"forecasts": [f.to_json() for f in found]}
    draft = ActionReport("capacity-review", summary, tuple(findings), figures)
    lines = [f"- {_line(f)}" for f in found]
    text = markdown("Capacity review", draft, [("Forecasts", lines)])
    return ActionReport("capacity-review", summary, tuple(findings), figures,
                        report=text), found  # fmt: skip
