"""The ``prometheus`` check kind: the app's own /metrics, and the runbook's signals derived
from it over a window (error share, a quantile, a rate, a gauge, an unusual rate)."""

from __future__ import annotations

import enum

import msgspec

from opsbook.config.checks import CheckBase, http_url
from opsbook.config.types import Duration, Threshold
from opsbook.results import CheckKind


class SignalKind(enum.StrEnum):
    ERROR_SHARE = "error_share"  # share of a counter's increase whose status label matches
    QUANTILE = "quantile"  # a histogram's quantile over the window
    RATE = "rate"  # per-second increase of a counter
    GAUGE = "gauge"  # the current value of a gauge
    UNUSUAL_RATE = "unusual_rate"  # a counter's rate outside its learnt band


class Signal(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    kind: SignalKind
    metric: str
    labels: dict[str, str] = {}  # only series with these label values
    status_label: str = "status"  # error_share: the label holding the HTTP status
    match: str = "5"  # error_share: status values starting with this are errors
    q: float = 0.95  # quantile
    # error_share: 5%, quantile: 2s, rate/gauge: a number; {below: X} for lower-is-worse
    warning: Threshold | None = None
    critical: Threshold | None = None
    k: float = 4.0  # unusual_rate: band = median ± k·MAD
    min_history: Duration = Duration(3600)  # unusual_rate: learn this long before firing

    def __post_init__(self) -> None:
        if not 0 < self.q < 1:
            raise ValueError("q: expected a quantile between 0 and 1, such as 0.95")
        if self.warning is None or self.critical is None:
            return
        w, c = self.warning.range, self.critical.range
        if w.inside or c.inside:
            return
        rising = w.low is None and c.low is None and w.high is not None and c.high is not None
        if rising and w.high > c.high:  # type: ignore[operator]
            raise ValueError(f"warning ({w.high:g}) must not be above critical ({c.high:g})")
        falling = w.high is None and c.high is None and w.low is not None and c.low is not None
        if falling and w.low < c.low:  # type: ignore[operator]
            raise ValueError(
                f"warning (below {w.low:g}) must not be under critical (below {c.low:g})"
            )


class PrometheusCheck(CheckBase, frozen=True, tag="prometheus"):
    """Scrapes the app's own /metrics and derives the runbook's signals over a window."""

    kind = CheckKind.PROMETHEUS
    url: str
    window: Duration = Duration(300)
    signals: dict[str, Signal] = {}  # noqa: RUF012  (msgspec gives each struct its own copy)
    verify_tls: bool = True

    def __post_init__(self) -> None:
        self._base_checks()
        http_url(self.url)
        if not self.signals:
            raise ValueError("signals: expected at least one (error_share, quantile, rate, gauge…)")
        if self.window < 10:
            raise ValueError("window: expected 10s or more")
