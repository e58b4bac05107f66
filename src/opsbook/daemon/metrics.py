"""/metrics in the Prometheus text format, named the Prometheus way (base units, _total).

opsbook_check_status{check,type}                 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
opsbook_check_value[_seconds|_ratio|_bytes]{check,type}   the main measurement
opsbook_check_metric[_seconds|_ratio|_bytes]{check,type,measurement}  every other one
                                                 (a log check's p95, rate, requests …)
opsbook_check_duration_seconds{check}            histogram
opsbook_check_runs_total{check,status}           counter
opsbook_check_last_run_timestamp_seconds{check}
opsbook_alerts_firing{severity}                  firing alerts by incident severity
opsbook_incidents_open{severity}                 "SEV-1" … "SEV-4"
opsbook_scheduler_lag_seconds                    histogram: how late checks start
opsbook_results_backlog                          results waiting to be stored
opsbook_store_up                                 1 when the last store write worked
opsbook_task_restarts_total{task}                the daemon's tasks restarted after a crash
opsbook_pages_undeliverable_total                pages that reached nobody (NOT DELIVERED)
opsbook_leader{instance}                         1 while this instance leads its deployment
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from opsbook.daemon.state import DaemonState
from opsbook.results import Result, Unit

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# unit -> (metric name suffix, factor to the base unit)
_VALUE_UNITS = {
    Unit.SECONDS: ("_seconds", 1.0),
    Unit.DAYS: ("_seconds", 86400.0),
    Unit.PERCENT: ("_ratio", 0.01),
    Unit.BYTES: ("_bytes", 1.0),
    Unit.COUNT: ("", 1.0),
    Unit.COUNTER: ("", 1.0),  # a plugin's counter, as read: a gauge of its current value
}


class Metrics:
    def __init__(self, state: DaemonState) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.duration = Histogram(
            "opsbook_check_duration_seconds",
            "How long each check run took.",
            ["check"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.runs = Counter(
            "opsbook_check_runs",
            "Check runs, by resulting status.",
            ["check", "status"],
            registry=self.registry,
        )
        self.lag = Histogram(
            "opsbook_scheduler_lag_seconds",
            "How late checks start against when they were due.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StateCollector(state))

    def observe(self, result: Result, lag: float) -> None:
        self.duration.labels(result.name).observe(result.duration)
        self.runs.labels(result.name, result.status.name).inc()
        self.lag.observe(lag)


class _StateCollector(Collector):
    def __init__(self, state: DaemonState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        latest = list(self.state.latest.values())
        status = GaugeMetricFamily(
            "opsbook_check_status",
            "Latest status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            labels=["check", "type"],
        )
        last_run = GaugeMetricFamily(
            "opsbook_check_last_run_timestamp_seconds",
            "When the check last ran (Unix time).",
            labels=["check"],
        )
        values: dict[str, GaugeMetricFamily] = {}
        details: dict[str, GaugeMetricFamily] = {}
        for r in latest:
            for m in r.metrics:
                if m.value is None:  # a plugin's U: no sample rather than a made-up one
                    continue
                suffix, factor = _VALUE_UNITS[m.unit]
                if suffix not in details:
                    details[suffix] = GaugeMetricFamily(
                        f"opsbook_check_metric{suffix}",
                        "A check's other measurements, by name.",
                        labels=["check", "type", "measurement"],
                    )
                details[suffix].add_metric([r.name, r.kind.value, m.name], m.value * factor)
            status.add_metric([r.name, r.kind.value], int(r.status))
            last_run.add_metric([r.name], r.started_at.timestamp())
            if r.value is None:
                continue
            suffix, factor = _VALUE_UNITS[r.unit]
            family = values.get(suffix)
            if family is None:
                family = values[suffix] = GaugeMetricFamily(
                    f"opsbook_check_value{suffix}",
                    "The check's main measurement.",
                    labels=["check", "type"],
                )
            family.add_metric([r.name, r.kind.value], r.value * factor)
        yield status
        yield last_run
        yield from values.values()
        yield from details.values()
        firing = GaugeMetricFamily(
            "opsbook_alerts_firing",
            "Firing alerts, by the incident severity they carry.",
            labels=["severity"],
        )
        incidents = GaugeMetricFamily(
            "opsbook_incidents_open", "Open incidents by severity.", labels=["severity"]
        )
        for level in range(1, 5):
            firing.add_metric([f"SEV-{level}"], self.state.firing_by_severity.get(level, 0))
            incidents.add_metric(
                [f"SEV-{level}"], self.state.open_incidents_by_severity.get(level, 0)
            )
        yield firing
        yield incidents
        yield GaugeMetricFamily(
            "opsbook_results_backlog", "Results waiting to be stored.", value=self.state.backlog
        )
        leader = GaugeMetricFamily(
            "opsbook_leader", "1 while this instance leads its deployment.", labels=["instance"]
        )
        leader.add_metric([self.state.instance], 1 if self.state.leading else 0)
        yield leader
        restarts = CounterMetricFamily(
            "opsbook_task_restarts",
            "Times a task of the daemon crashed and was restarted.",
            labels=["task"],
        )
        for task, n in sorted(self.state.task_restarts.items()):
            restarts.add_metric([task], n)
        yield restarts
        yield CounterMetricFamily(
            "opsbook_pages_undeliverable",
            "Pages that reached nobody: no one on call, no deliverable contact, every channel "
            "failed.",
            value=self.state.pages_undeliverable,
        )
        yield GaugeMetricFamily(
            "opsbook_store_up",
            "1 when the last store write worked.",
            value=1 if self.state.store_ok else 0,
        )
