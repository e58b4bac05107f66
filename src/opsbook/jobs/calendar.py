"""When a job runs, which missed time is caught up, and whether a job is healthy.

Cron expressions are read on the wall clock of the job's time zone (croniter on an aware
time), so `0 2 * * *` in Europe/Paris is 02:00 Paris time on both sides of a DST change: on
the spring-forward night, when 02:00 does not exist, it fires at 03:00, the first minute that
does; on the fall-back night, once.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo

from opsbook.jobs.records import JobState, Run
from opsbook.results import Reading
from opsbook.status import Status, worst
from opsbook.units import format_duration


def _zone(name: str | None) -> tzinfo:
    return zoneinfo.ZoneInfo(name) if name else UTC


def next_fire(cron: str, after: datetime, tz_name: str | None) -> datetime:
    """The next time ``cron`` fires after ``after``, read on the wall clock of ``tz_name``."""
    from croniter import croniter

    tz = _zone(tz_name)
    fire: datetime = croniter(cron, after.astimezone(tz)).get_next(datetime)
    if _repeat(fire, tz):  # the wall time came round again as clocks fell back: it has run
        return next_fire(cron, fire, tz_name)
    return fire.astimezone(UTC)


def _repeat(fire: datetime, tz: tzinfo) -> bool:
    """The second occurrence of an ambiguous wall time (the hour a fall-back repeats)."""
    local = fire.astimezone(tz)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def prev_fire(cron: str, before: datetime, tz_name: str | None) -> datetime:
    """The latest time ``cron`` fired at or before ``before``."""
    from croniter import croniter

    tz = _zone(tz_name)
    at = before.astimezone(tz)
    fire: datetime = croniter(cron, at + timedelta(seconds=1)).get_prev(datetime)
    if _repeat(fire, tz):  # it fired at the first occurrence
        return fire.astimezone(tz).replace(fold=0).astimezone(UTC)
    return fire.astimezone(UTC)


def missed(cron: str, tz_name: str | None, state: JobState, now: datetime) -> datetime | None:
    """The time to catch up: the latest one before ``now`` that came after the job became
    known and was never taken; None when there is none."""
    slot = prev_fire(cron, now, tz_name)
    if slot <= state.known_since:
        return None
    if state.last_slot is not None and state.last_slot >= slot:
        return None
    return slot


def assess(
    name: str,
    cron: str,
    tz_name: str | None,
    late_after: float,
    state: JobState | None,
    runs: list[Run],
    now: datetime,
) -> Reading:
    """The job-<name> check: the newest finished run's status, and overdue when a time came
    and went (with the job's timeout and grace) without a run that started after it."""
    finished = next((r for r in runs if not r.running), None)
    running = next((r for r in runs if r.running), None)
    statuses: list[Status] = []
    parts: list[str] = []
    if finished is None:
        parts.append(f"{name} has not run yet")
        statuses.append(Status.OK)
    else:
        assert finished.status is not None and finished.finished_at is not None
        statuses.append(finished.status)
        when = format_duration((now - finished.finished_at).total_seconds())
        parts.append(f"last run {finished.status.name} {when} ago: {finished.summary}")
    if running is not None:
        parts.append(f"running since {format_duration((now - running.started_at).total_seconds())}")
    known = state.known_since if state is not None else now
    due = prev_fire(cron, now - timedelta(seconds=late_after), tz_name)
    started_since = any(r.started_at >= due for r in runs)
    if due > known and not started_since:
        statuses.append(Status.CRITICAL)
        parts.append(f"overdue: the run due at {due:%Y-%m-%d %H:%M} UTC has not happened")
    return Reading(worst(statuses), "; ".join(parts))
