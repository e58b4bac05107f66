"""What the daemon knows right now, for /health and /metrics.

Updated from the event loop (results, lag) and from the store thread (alerts, incidents);
the values are replaced whole, never mutated in place across threads.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from opsbook.results import Result
from opsbook.stats import percentile

LAG_SAMPLES = 20_000
MAX_HEALTHY_LAG = 30.0  # seconds of p99 scheduler lag beyond which the daemon is degraded
LOCAL_FAULT_WINDOW = 120.0  # seconds a shortage keeps /health degraded


@dataclass
class DaemonState:
    started: float = field(default_factory=time.monotonic)
    latest: dict[str, Result] = field(default_factory=dict)
    lags: deque[float] = field(default_factory=lambda: deque(maxlen=LAG_SAMPLES))
    last_result_at: float | None = None
    firing_by_severity: dict[int, int] = field(default_factory=dict)
    open_incidents_by_severity: dict[int, int] = field(default_factory=dict)
    backlog: int = 0  # results waiting to be stored
    store_ok: bool = True
    store_error: str = ""
    task_problems: list[str] = field(default_factory=list)  # the supervisor's, for /health
    task_restarts: dict[str, int] = field(default_factory=dict)
    config_problems: list[str] = field(default_factory=list)  # a reload that failed
    pages_undeliverable: int = 0  # pages that reached nobody, ever
    paging_failed_at: float | None = None
    paging_problem: str = ""  # while set: /health is degraded
    # checks opsbook could not run for want of its own resources: name -> (when, why)
    local_faults: dict[str, tuple[float, str]] = field(default_factory=dict)
    # the deployment: this instance's name, whether it leads, who does (as last seen)
    instance: str = ""
    leading: bool = False
    leader: str | None = None
    cluster_problem: str = ""  # e.g. the store's schema moved past this opsbook

    def record(self, result: Result, lag: float) -> None:
        self.lags.append(lag)
        self.last_result_at = time.monotonic()
        if result.local_fault:
            self.local_faults[result.name] = (time.monotonic(), result.message)
            return
        self.latest[result.name] = result
        self.local_faults.pop(result.name, None)

    def paging_quiet(self, quiet: float) -> bool:
        """A paging problem is on record and no page has been lost for ``quiet`` seconds."""
        at = self.paging_failed_at
        return bool(self.paging_problem) and at is not None and time.monotonic() - at > quiet

    def problems(self) -> list[str]:
        """Why the daemon is degraded (empty when it is not): /health and the heartbeat."""
        problems = []
        if not self.store_ok:
            problems.append(f"store: {self.store_error}")
        lag_p99 = self.lag(99)
        if lag_p99 > MAX_HEALTHY_LAG:
            problems.append(f"scheduler lag p99 {lag_p99:.1f} s")
        problems += self.task_problems
        if self.paging_problem:
            problems.append(self.paging_problem)
        shortage = self.shortage()
        if shortage:
            problems.append(shortage)
        problems += self.config_problems
        if self.cluster_problem:
            problems.append(self.cluster_problem)
        return problems

    def shortage(self, within: float = LOCAL_FAULT_WINDOW) -> str | None:
        """opsbook's own shortage, if a check could not run for it recently."""
        now = time.monotonic()
        recent = [(n, why) for n, (at, why) in self.local_faults.items() if now - at < within]
        if not recent:
            return None
        names = ", ".join(sorted(n for n, _ in recent))
        return f"opsbook could not run {len(recent)} check(s) ({names}): {recent[0][1]}"

    def lag(self, pct: float) -> float:
        return percentile(list(self.lags), pct) or 0.0
