"""prometheus: scrape the application's own /metrics (the runbook's `curl …/metrics`) and
derive the runbook's signals over a window from successive scrapes:

- error_share: the share of a request counter's increase whose status label is 5xx;
- quantile: P50/P95/P99 from a histogram's `_bucket` increases (histogram_quantile's method);
- rate: a counter's per-second increase; gauge: a gauge's current value;
- unusual_rate: a counter's rate outside median ± k·MAD of what it has been ("unusual
  traffic"), silent until `min_history` has been learnt.

Previous scrapes are kept in this process (the daemon's), per check and window, so two
checks on one /metrics with different windows never cut each other's history. Increases are
judged only over a span of at least MIN_SPAN_SHARE of the window (and MIN_SPAN seconds):
a rate over the 391 ms between two scrapes right after a restart is noise, and the check
says "learning" instead. With no earlier scrape at all (a one-shot `opsbook check`, or the
daemon's first scrape) shares and quantiles are cumulative since the application's counters
started, and say so; rates need two scrapes and say that.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from opsbook.checks import bands
from opsbook.clients.http import request
from opsbook.config.prometheus_checks import PrometheusCheck, Signal, SignalKind
from opsbook.errors import TargetUnreachable
from opsbook.results import Metric, Phase, Reading, Unit, judge
from opsbook.secrets import mask_url
from opsbook.status import Status, worst
from opsbook.units import format_duration

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]  # (name, labels) -> value


@dataclass(frozen=True)
class Scrape:
    at: float  # monotonic seconds
    series: Series


Key = tuple[str, str, float]  # (check name, url, window): whose history this is
_HISTORY: dict[Key, deque[Scrape]] = {}  # recent scrapes, within the window
MIN_SPAN = 5.0  # seconds: the least span an increase is judged over
MIN_SPAN_SHARE = 0.25  # … and at least this share of the window


def describe(check: PrometheusCheck) -> str:
    return mask_url(check.url)


def parse(text: str) -> Series:
    series: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return series


async def run(check: PrometheusCheck, phase: Phase) -> Reading:
    response = await request(check.url, phase, verify=check.verify_tls)
    if response.status != 200:
        raise TargetUnreachable(f"/metrics answered HTTP {response.status}")
    try:
        series = parse(response.body.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise TargetUnreachable(f"not Prometheus text format: {exc}") from None
    now = Scrape(time.monotonic(), series)
    key: Key = (phase.check, check.url, float(check.window))
    history = _HISTORY.setdefault(key, deque())
    base = _baseline(history, now.at, check.window)
    history.append(now)
    while len(history) > 1 and now.at - history[1].at >= check.window:
        history.popleft()
    return assess(check, now, base, key)


def _baseline(history: deque[Scrape], now: float, window: float) -> Scrape | None:
    """The newest earlier scrape at least a window old, else the oldest one we have."""
    older = [s for s in history if now - s.at >= window]
    return older[-1] if older else (history[0] if history else None)


def min_span(window: float) -> float:
    return min(window, max(MIN_SPAN, window * MIN_SPAN_SHARE))


def assess(
    check: PrometheusCheck, now: Scrape, base: Scrape | None, key: Key = ("", "", 0.0)
) -> Reading:
    span = now.at - base.at if base else None
    least = min_span(check.window)
    statuses, metrics, parts = [], [], []
    for name, signal in check.signals.items():
        if span is not None and span < least and signal.kind is not SignalKind.GAUGE:
            statuses.append(Status.OK)  # an increase over too short a span is noise
            had, needs = format_duration(span), format_duration(least)
            parts.append(f"{name} learning: {had} of scrapes, judged from {needs}")
            continue
        status, value, unit, text = _signal(name, signal, now, base, span, key)
        statuses.append(status)
        if value is not None:
            warning = signal.warning.range if signal.warning else None
            critical = signal.critical.range if signal.critical else None
            metrics.append(Metric(name, value, unit, warning, critical))
        parts.append(f"{name} {text}")
    kinds = {signal.kind for signal in check.signals.values()}
    scope = ""
    if span is None and kinds & {SignalKind.ERROR_SHARE, SignalKind.QUANTILE}:
        scope = " (cumulative since the app started)"
    elif span is not None and span >= least and kinds - {SignalKind.GAUGE}:
        scope = f" (over {format_duration(span)})"
    message = "; ".join(parts) + scope
    first = metrics[0] if metrics else None
    return Reading(
        worst(statuses),
        message,
        first.value if first else None,
        first.unit if first else Unit.COUNT,
        tuple(metrics),
    )


def _judge(value: float, signal: Signal) -> Status:
    return judge(
        value,
        signal.warning.range if signal.warning else None,
        signal.critical.range if signal.critical else None,
    )


def _select(
    series: Series, metric: str, labels: dict[str, str]
) -> Iterable[tuple[dict[str, str], float]]:
    for (name, label_items), value in series.items():
        if name != metric:
            continue
        found = dict(label_items)
        if all(found.get(k) == v for k, v in labels.items()):
            yield found, value


def _increase(
    signal: Signal, now: Scrape, base: Scrape | None, metric: str, key: str | None = None
) -> dict[str, float]:
    """Counter increase per value of ``key`` (or "" for the total), resets counted as restarts."""
    totals: dict[str, float] = {}
    before = dict(_keyed(base.series, metric, signal.labels)) if base else {}
    for labels, value in _select(now.series, metric, signal.labels):
        ident = tuple(sorted(labels.items()))
        previous = before.get(ident, 0.0)
        delta = value - previous if value >= previous else value  # a reset: the app restarted
        group = labels.get(key, "") if key else ""
        totals[group] = totals.get(group, 0.0) + delta
    return totals


def _keyed(
    series: Series, metric: str, labels: dict[str, str]
) -> Iterable[tuple[tuple[tuple[str, str], ...], float]]:
    for found, value in _select(series, metric, labels):
        yield tuple(sorted(found.items())), value


def _signal(
    name: str, signal: Signal, now: Scrape, base: Scrape | None, span: float | None, key: Key
) -> tuple[Status, float | None, Unit, str]:
    if not any(True for _ in _select(now.series, _series_name(signal), signal.labels)):
        return Status.UNKNOWN, None, Unit.COUNT, f"no series {_series_name(signal)} on /metrics"
    if signal.kind is SignalKind.ERROR_SHARE:
        by_status = _increase(signal, now, base, signal.metric, signal.status_label)
        total = sum(by_status.values())
        errors = sum(v for k, v in by_status.items() if k.startswith(signal.match))
        if total <= 0:
            return Status.OK, 0.0, Unit.PERCENT, "no requests"
        share = errors * 100 / total  # unrounded: 0.004 % is not 0
        status = _judge(share, signal)
        return status, share, Unit.PERCENT, f"{share:.2f}% of {total:.0f} requests {signal.match}xx"
    if signal.kind is SignalKind.QUANTILE:
        value = _quantile(signal, now, base)
        if value is None:
            return Status.OK, None, Unit.SECONDS, "no requests"
        label = f"p{signal.q * 100:g}"
        text = format_duration(value) if name == label else f"{label} {format_duration(value)}"
        return _judge(value, signal), round(value, 6), Unit.SECONDS, text
    if signal.kind is SignalKind.GAUGE:
        value = sum(v for _, v in _select(now.series, signal.metric, signal.labels))
        return _judge(value, signal), value, Unit.COUNT, f"{value:g}"
    if not span:
        return _since_start(signal)
    rate = round(sum(_increase(signal, now, base, signal.metric).values()) / span, 4)
    if signal.kind is SignalKind.RATE:
        return _judge(rate, signal), rate, Unit.COUNT, f"{rate:g}/s"
    return _unusual((key, name), signal, rate, now.at)


def _since_start(signal: Signal) -> tuple[Status, float | None, Unit, str]:
    """A rate with one scrape. Not the counter over process_start_time_seconds: on an
    exporter (redis_exporter, node_exporter) that is the exporter's age, not the counter's."""
    return Status.OK, None, Unit.COUNT, "needs two scrapes (opsbook serve keeps them)"


def _series_name(signal: Signal) -> str:
    return f"{signal.metric}_bucket" if signal.kind is SignalKind.QUANTILE else signal.metric


def _quantile(signal: Signal, now: Scrape, base: Scrape | None) -> float | None:
    """histogram_quantile over the increase of each `le` bucket."""
    buckets: dict[float, float] = {}
    before = dict(_keyed(base.series, f"{signal.metric}_bucket", signal.labels)) if base else {}
    for labels, value in _select(now.series, f"{signal.metric}_bucket", signal.labels):
        le = float(labels["le"])
        previous = before.get(tuple(sorted(labels.items())), 0.0)
        buckets[le] = buckets.get(le, 0.0) + (value - previous if value >= previous else value)
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]  # the +Inf bucket counts everything
    if total <= 0:
        return None
    rank = signal.q * total
    lower, below = 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if count >= rank:
            if math.isinf(le):
                return bounds[-2] if len(bounds) > 1 else None  # as Prometheus does
            inside = count - below
            return lower + (le - lower) * ((rank - below) / inside) if inside > 0 else le
        lower, below = le, count
    return None


def _unusual(
    key: tuple[Key, str], signal: Signal, rate: float, at: float
) -> tuple[Status, float, Unit, str]:
    verdict = bands.judge(key, rate, at, signal.k, float(signal.min_history))
    status = Status.OK if verdict.usual else Status.WARNING
    return status, rate, Unit.COUNT, verdict.says(f"{rate:g}/s", "/s")
