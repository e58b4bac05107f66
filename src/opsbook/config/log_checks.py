"""The ``log`` and ``log_errors`` check kinds: an application's logs as alerts.

Their defaults are the runbook's alert tiers: more than 5 % 5xx is critical, P95 over
2 s a warning, unusual traffic a warning, new error patterns informational (SEV-4).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from opsbook.config.checks import CheckBase
from opsbook.config.types import AlertSeverity, Duration, Percent
from opsbook.results import CheckKind


class LogCheck(CheckBase, frozen=True, kw_only=True, tag="log"):
    """An access log followed incrementally: 5xx share, P95 and rate over a window."""

    kind = CheckKind.LOG
    path: str
    log_format: str | None = None  # nginx log_format or combined / timed; None: detected
    window: Duration = Duration(300.0)
    error_share_warning: Percent | None = Percent(2)  # 5xx among the window's requests
    error_share_critical: Percent | None = Percent(5)
    p95_warning: Duration | None = Duration(2.0)
    p95_critical: Duration | None = None
    rate_below_warning: Annotated[float, msgspec.Meta(ge=0)] | None = None  # requests/s
    rate_below_critical: Annotated[float, msgspec.Meta(ge=0)] | None = None
    unusual_traffic: bool = True  # WARNING when the rate leaves the band learnt from history
    band_sigma: Annotated[float, msgspec.Meta(gt=0)] = 3.0
    # How much history the band is learnt from: an hour follows the day's rhythm (a band over
    # a whole day would span night and peak and catch nothing but the extremes).
    history: Duration = Duration(3600.0)
    min_requests: Annotated[int, msgspec.Meta(ge=0)] = 20  # fewer: shares are not judged
    # the busiest routes measured alone (route_<route>_p95, _requests, _errors), for trends
    routes: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10
    interval: Duration = Duration(60.0)
    timeout: Duration = Duration(60.0)
    watch: bool = False

    def __post_init__(self) -> None:
        self._base_checks()
        if self.window < 10:
            raise ValueError("window: expected 10s or more")
        self._rising(self.error_share_warning, self.error_share_critical, "5xx share")
        self._rising(self.p95_warning, self.p95_critical, "p95")
        low_w, low_c = self.rate_below_warning, self.rate_below_critical
        if low_w is not None and low_c is not None and low_c > low_w:
            raise ValueError(
                f"rate_below_critical ({low_c:g}) must not be above rate_below_warning ({low_w:g})"
            )
        if self.log_format is not None:
            from opsbook.errors import UsageError
            from opsbook.logs.formats import compile_format

            try:
                compile_format(self.log_format)
            except UsageError as exc:
                raise ValueError(f"log_format: {exc}") from None


class LogErrorsCheck(CheckBase, frozen=True, kw_only=True, tag="log_errors"):
    """An error log followed incrementally: error templates never seen before."""

    kind = CheckKind.LOG_ERRORS
    path: str
    baseline: str | None = None  # saved with opsbook logs errors --save; None: learn from history
    store: str | None = None  # where the baseline is; default: the file's store:
    window: Duration = Duration(900.0)  # a new template is reported for this long
    level: str = "error"  # only entries at this level or worse
    severity: AlertSeverity = AlertSeverity(4, 4)  # the runbook: informational
    for_: Duration | None = msgspec.field(default=Duration(0.0), name="for")
    interval: Duration = Duration(60.0)
    timeout: Duration = Duration(60.0)
    watch: bool = False

    def __post_init__(self) -> None:
        self._base_checks()
        from opsbook.logs.errorlog import parse_level

        try:
            parse_level(self.level)
        except ValueError as exc:
            raise ValueError(f"level: {exc}") from None


def with_store(checks: dict[str, CheckBase], store: str | None) -> dict[str, CheckBase]:
    """log_errors checks read their baseline from the file's store unless given another."""
    return {
        name: msgspec.structs.replace(check, store=store)
        if isinstance(check, LogErrorsCheck) and check.store is None and check.baseline
        else check
        for name, check in checks.items()
    }
