"""Which maintenance windows are open now, computed on the wall clock of their time zone."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsbook.config.maintenance import WindowConfig, local_datetime, local_time

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def spans(
    window: WindowConfig, around: datetime, default_tz: str | None
) -> Iterator[tuple[datetime, datetime]]:
    """UTC (start, end) of the window's occurrences that could cover ``around``."""
    tz = ZoneInfo(window.timezone or default_tz or "UTC")
    if window.start is not None and window.end is not None:
        start = local_datetime(window.start).replace(tzinfo=tz)
        end = local_datetime(window.end).replace(tzinfo=tz)
        yield start.astimezone(UTC), end.astimezone(UTC)
        return
    assert window.every and window.at and window.duration
    at = local_time(window.at)
    today = around.astimezone(tz).date()
    days_back = int(float(window.duration) // 86400) + 1
    for offset in range(-days_back, 1):
        day = today + timedelta(days=offset)
        if not _on(window.every, day.weekday()):
            continue
        # Wall-clock start in the zone (DST-correct); the duration is real elapsed time.
        start = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        yield start, start + timedelta(seconds=float(window.duration))


def _on(every: str, weekday: int) -> bool:
    if every == "day":
        return True
    if every == "weekday":
        return weekday < 5
    return _WEEKDAYS[weekday] == every


def open_window(
    windows: Sequence[WindowConfig], check: str, now: datetime, default_tz: str | None
) -> WindowConfig | None:
    for window in windows:
        if window.checks and not any(fnmatch.fnmatchcase(check, pat) for pat in window.checks):
            continue
        if any(start <= now < end for start, end in spans(window, now, default_tz)):
            return window
    return None
