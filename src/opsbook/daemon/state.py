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

    def record(self, result: Result, lag: float) -> None:
        self.latest[result.name] = result
        self.lags.append(lag)
        self.last_result_at = time.monotonic()

    def lag(self, pct: float) -> float:
        return percentile(list(self.lags), pct) or 0.0
