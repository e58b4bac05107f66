"""log: an access log as the runbook's alerts, for an application without /metrics.

CRITICAL/WARNING on the 5xx share and P95 over the window, on a rate under a floor, and
(WARNING) on a rate outside the band learnt from the log's own history. Too few requests
in the window and shares are not judged: three requests, one 502, is not a 33 % outage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opsbook.config.log_checks import LogCheck
from opsbook.errors import CheckUnavailable, LogError
from opsbook.logs.follow import Trackers
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.status import Status, worst
from opsbook.units import format_duration, format_latency

if TYPE_CHECKING:
    from opsbook.logs.tracking import AccessTracker, Window

TRACKERS: Trackers[AccessTracker] = Trackers()


def describe(check: LogCheck) -> str:
    return check.path


def _key(check: LogCheck) -> tuple[str, str | None]:
    return (check.path, check.log_format)


def keep(checks: Iterable[LogCheck]) -> None:
    """Stop following the files of log checks that are gone (see checks.release)."""
    TRACKERS.keep({_key(c) for c in checks})


def _watch(check: LogCheck) -> AccessTracker:
    from opsbook.logs.tracking import AccessTracker

    return TRACKERS.get(_key(check), lambda: AccessTracker(check.path, check.log_format))


async def run(check: LogCheck, phase: Phase) -> Reading:
    phase.at(f"reading {check.path}")
    return await asyncio.to_thread(_read, check)


def _read(check: LogCheck) -> Reading:
    watch = _watch(check)
    try:
        window = watch.update(datetime.now(UTC), float(check.window), float(check.history),
                              check.band_sigma, check.routes)  # fmt: skip
    except LogError as exc:
        raise CheckUnavailable(str(exc)) from None
    return assess(check, window)


def assess(check: LogCheck, w: Window) -> Reading:
    """The Reading for a measured window (a ``logs.watch.Window``)."""
    span = format_duration(w.seconds)
    statuses = [Status.OK]
    parts = [f"{w.requests} requests in {span} ({w.rate:.2f}/s)"]
    if w.requests == 0 and w.last_seen is not None:
        ago = (datetime.now(UTC) - w.last_seen).total_seconds()
        parts[0] += f", the last {format_duration(max(ago, 0))} ago"
    share_pct = 100 * w.error_share
    judged = w.requests >= check.min_requests
    if judged:
        s = rising(share_pct, check.error_share_warning, check.error_share_critical)
        statuses.append(s)
        parts.append(f"5xx {share_pct:.1f} %" + (f" ({s.name})" if s is not Status.OK else ""))
        if w.p95 is not None:
            p = rising(w.p95, check.p95_warning, check.p95_critical)
            statuses.append(p)
            parts.append(
                f"p95 {format_latency(w.p95)}" + (f" ({p.name})" if p is not Status.OK else "")
            )
    else:
        parts.append(f"fewer than {check.min_requests} requests: 5xx share and p95 not judged")
    if not w.timed:
        parts.append("no $request_time in this log: p95 unknown")
    for floor, status in ((check.rate_below_critical, Status.CRITICAL),
                          (check.rate_below_warning, Status.WARNING)):  # fmt: skip
        if floor is not None and w.rate < floor:
            statuses.append(status)
            parts.append(f"rate under {floor:g}/s ({status.name})")
            break
    band = w.band
    if check.unusual_traffic and band is not None and not band.low <= w.rate <= band.high:
        statuses.append(Status.WARNING)
        parts.append(
            f"unusual traffic: usual {band.low:.2f}-{band.high:.2f}/s over {band.minutes} min"
        )
    metrics = [
        Metric("requests", w.requests, Unit.COUNT, min=0),
        Metric("rate", round(w.rate, 4), Unit.COUNT, min=0),
        Metric("error_share", round(share_pct, 5), Unit.PERCENT, above(check.error_share_warning),
               above(check.error_share_critical), 0, 100),
    ]  # fmt: skip
    if w.p95 is not None:
        metrics.append(
            Metric(
                "p95", w.p95, Unit.SECONDS, above(check.p95_warning), above(check.p95_critical), 0
            )
        )
    for route, n, p95, errors in w.routes:
        metrics.append(Metric(f"route_{route}_requests", float(n), Unit.COUNT, min=0))
        metrics.append(Metric(f"route_{route}_errors", float(errors), Unit.COUNT, min=0))
        if p95 is not None:
            metrics.append(Metric(f"route_{route}_p95", round(p95, 6), Unit.SECONDS, min=0))
    details: dict[str, Any] = {"requests": w.requests, "5xx": w.s5xx, "unparsed": w.unparsed}
    if w.band is not None:
        details["band"] = [w.band.low, w.band.high]
    return Reading(worst(statuses), ", ".join(parts), round(share_pct, 5), Unit.PERCENT,
                   tuple(metrics), details)  # fmt: skip
