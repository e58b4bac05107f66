"""log_errors: error templates never seen before, as an informational alert (SEV-4).

Known templates come from a baseline saved with ``opsbook logs errors --baseline NAME
--save`` or, without one, from the history read before the window. A new template is
WARNING for one window after it first appears, then it is known.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from opsbook.config.log_checks import LogErrorsCheck
from opsbook.errors import CheckUnavailable, LogError, OpsbookError
from opsbook.logs.follow import Trackers
from opsbook.results import Metric, Phase, Reading, Unit
from opsbook.status import Status
from opsbook.units import format_duration

if TYPE_CHECKING:
    from opsbook.logs.tracking import ErrorTracker

TRACKERS: Trackers[ErrorTracker] = Trackers()


def describe(check: LogErrorsCheck) -> str:
    return check.path


def _baseline_state(check: LogErrorsCheck) -> bytes | None:
    if check.baseline is None:
        return None
    from opsbook.logs import baselines
    from opsbook.store.open import open_store

    try:
        store = open_store(check.store)
        try:
            return baselines.load(store.engine, check.baseline).state
        finally:
            store.engine.dispose()
    except OpsbookError as exc:
        raise CheckUnavailable(str(exc)) from None


def _key(check: LogErrorsCheck) -> tuple[object, ...]:
    return (check.path, check.baseline, check.store, check.level)


def keep(checks: Iterable[LogErrorsCheck]) -> None:
    """Stop following the files of error-log checks that are gone (see checks.release)."""
    TRACKERS.keep({_key(c) for c in checks})


def _watch(check: LogErrorsCheck) -> ErrorTracker:
    from opsbook.logs.errorlog import parse_level
    from opsbook.logs.follow import Follower
    from opsbook.logs.tracking import ErrorTracker

    def make() -> ErrorTracker:
        return ErrorTracker(Follower(check.path), parse_level(check.level), _baseline_state(check))

    return TRACKERS.get(_key(check), make)


async def run(check: LogErrorsCheck, phase: Phase) -> Reading:
    phase.at(f"reading {check.path}")
    return await asyncio.to_thread(_read, check)


def _read(check: LogErrorsCheck) -> Reading:
    watch = _watch(check)
    try:
        new = watch.update(datetime.now(UTC), float(check.window))
    except LogError as exc:
        raise CheckUnavailable(str(exc)) from None
    span = format_duration(check.window)
    metric = (Metric("new_templates", len(new), Unit.COUNT, min=0),)
    if not new:
        return Reading(Status.OK, f"no new error templates in {span}", 0, Unit.COUNT, metric)
    shown = "; ".join(f"{s.template[:120]} (x{s.count})" for s in new[:3])
    more = f" and {len(new) - 3} more" if len(new) > 3 else ""
    details = {"new": [{"template": s.template, "count": s.count, "first": s.first.isoformat(),
                        "example": s.example} for s in new]}  # fmt: skip
    return Reading(
        Status.WARNING, f"{len(new)} new error template(s) in {span}: {shown}{more}",
        len(new), Unit.COUNT, metric, details,
    )  # fmt: skip
