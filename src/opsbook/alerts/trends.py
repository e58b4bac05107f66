"""Trend rules over the stored history: a measurement that has degraded against the window
before (this week against the last) or left the band it usually keeps (a resource spike).

Pure reading and judging: the daemon turns findings into SEV-4 alerts, ``opsbook trends``
prints them.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec
from sqlalchemy import Engine

from opsbook.alerts import series
from opsbook.config.trends import Degradation, Direction, Spike, TrendsConfig
from opsbook.stats import usual_band
from opsbook.units import format_duration

SPIKE_STEP = 300.0  # the band is learnt from 5-minute means, as the rollups keep them


class Verdict(enum.StrEnum):
    DEGRADED = "degraded"  # worse beyond the rule's factor, or outside the band
    STEADY = "steady"
    LEARNING = "learning"  # not enough history in one of the windows to judge


@dataclass(frozen=True)
class Finding:
    rule: str
    kind: str  # "degradation" or "spike"
    check: str
    metric: str
    verdict: Verdict
    now: float | None  # the recent mean
    then: float | None  # degradation: the previous window's mean; spike: the band's median
    low: float | None = None  # spike: the band
    high: float | None = None
    samples: int = 0
    severity: int = 4
    summary: str = ""

    @property
    def fingerprint(self) -> str:
        return f"trend:{self.rule}:{self.check}:{self.metric}"

    @property
    def ratio(self) -> float | None:
        if self.now is None or not self.then:
            return None
        return self.now / self.then


def evaluate(engine: Engine, trends: TrendsConfig, now: datetime) -> list[Finding]:
    found: list[Finding] = []
    for name, rule in trends.degradation.items():
        for each in _per_host(engine, rule):
            w = _td(each.window)
            cur = _means(engine, each.check, now - w, now)
            prev = _means(engine, each.check, now - 2 * w, now - w)
            for metric in _matching(cur.keys() | prev.keys(), each.metric):
                found.append(_degradation(name, each, metric, cur.get(metric), prev.get(metric)))
    for name, spike in trends.spikes.items():
        for one in _per_host(engine, spike):
            w = _td(one.window)
            recent = _means(engine, one.check, now - w, now)
            learnt = _means(engine, one.check, now - _td(one.learn), now)
            for metric in _matching(learnt.keys(), one.metric):
                found.append(_spike(engine, name, one, metric, recent.get(metric), now))
    return found


Mean = tuple[float, int]  # (mean, samples)


def _means(engine: Engine, check: str, start: datetime, end: datetime) -> dict[str, Mean]:
    """Every measurement's mean over [start, end): one read for all of a check's series."""
    return {s.name: (s.mean, s.samples) for s in series.summaries(engine, check, start, end)}


def _matching(names: Iterable[str], pattern: str) -> list[str]:
    """The names the rule's ``metric`` (a name or a glob) takes, the main value first."""
    found = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    return sorted(found, key=lambda n: (n != series.MAIN, n))


R = TypeVar("R", Degradation, Spike)


def _per_host(engine: Engine, rule: R) -> list[R]:
    """The rule once per stored name of its check: each host of a deployment alone."""
    return [msgspec.structs.replace(rule, check=n) for n in series.recorded_as(engine, rule.check)]


def _td(seconds: float) -> timedelta:
    return timedelta(seconds=float(seconds))


def _degradation(
    name: str, rule: Degradation, metric: str, cur: Mean | None, prev: Mean | None
) -> Finding:
    base = Finding(name, "degradation", rule.check, metric, Verdict.LEARNING, None, None,
                   severity=rule.level)  # fmt: skip
    span = format_duration(float(rule.window))
    if cur is None or prev is None or min(cur[1], prev[1]) < rule.min_samples:
        have = min(cur[1] if cur else 0, prev[1] if prev else 0)
        return replace(base, now=cur[0] if cur else None, then=prev[0] if prev else None,
                       samples=have, summary=f"{rule.check} {metric}: {have} of "
                       f"{rule.min_samples} samples in each of two {span} windows")  # fmt: skip
    (now_mean, n), (then_mean, _) = cur, prev
    if rule.direction is Direction.UP:
        change = now_mean - then_mean
        worse = now_mean >= rule.factor * then_mean if then_mean > 0 else change > 0
    else:
        change = then_mean - now_mean
        worse = now_mean * rule.factor <= then_mean if then_mean > 0 else False
    worse = worse and change >= rule.min_change and change > 0
    ratio = f"{now_mean / then_mean:.2f}×" if then_mean else "from 0"
    word = "worse" if worse else "steady"
    summary = (
        f"{rule.check} {metric}: {_num(now_mean)} over the last {span}, {ratio} the "
        f"{_num(then_mean)} of the {span} before ({word}; degraded at {rule.factor:g}×)"
    )
    return replace(base, verdict=Verdict.DEGRADED if worse else Verdict.STEADY, now=now_mean,
                   then=then_mean, samples=n, summary=summary)  # fmt: skip


def _spike(
    engine: Engine, name: str, rule: Spike, metric: str, recent: Mean | None, now: datetime
) -> Finding:
    w = _td(rule.window)
    base = Finding(name, "spike", rule.check, metric, Verdict.LEARNING, None, None,
                   severity=rule.level)  # fmt: skip
    past = series.series(engine, rule.check, metric, now - _td(rule.learn), now - w, SPIKE_STEP)
    means = [p.mean for p in past]
    if recent is None or len(means) < rule.min_samples:
        return replace(base, now=recent[0] if recent else None, samples=len(means),
                       summary=f"{rule.check} {metric}: learning its band ({len(means)} of "
                       f"{rule.min_samples} five-minute means)")  # fmt: skip
    low, high = usual_band(means, rule.k)
    value = recent[0]
    above, below = value > high, value < low
    out = (above and rule.direction is not Direction.DOWN) or (
        below and rule.direction is not Direction.UP
    )
    where = "above" if above else "below" if below else "within"
    summary = (f"{rule.check} {metric}: {_num(value)} over the last "
               f"{format_duration(float(rule.window))}, {where} its usual {_num(max(low, 0))}"
               f"–{_num(high)} (learnt over {format_duration(float(rule.learn))})")  # fmt: skip
    median = (low + high) / 2
    verdict = Verdict.DEGRADED if out else Verdict.STEADY
    return replace(base, verdict=verdict, now=value, then=median, low=low, high=high,
                   samples=len(means), summary=summary)  # fmt: skip


def _num(x: float) -> str:
    return f"{x:.4g}"
