"""The ``maintenance:`` section: windows in which alerts record but page no one.

One-off (``start`` / ``end``) or recurring (``every`` / ``at`` / ``duration``), in a named
time zone, so "every sunday 02:00 Europe/Paris" stays 02:00 on the wall clock across DST.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Literal

import msgspec

from opsbook.config.types import Duration

Every = Literal[
    "day", "weekday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
]
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class WindowConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    checks: list[str] = []  # check names or globs; empty: every check
    timezone: str | None = None  # default: timezone: of the file, else UTC
    start: str | None = None  # one-off: "2026-12-01 22:00" local time
    end: str | None = None
    every: Every | None = None  # recurring
    at: str | None = None  # "02:00" local time
    duration: Duration | None = None

    def __post_init__(self) -> None:
        one_off = self.start is not None or self.end is not None
        recurring = self.every is not None or self.at is not None or self.duration is not None
        if one_off == recurring:
            raise ValueError(
                "give either start: and end: (one-off) or every:, at: and duration: (recurring)"
            )
        if one_off:
            if self.start is None or self.end is None:
                raise ValueError("a one-off window needs both start: and end:")
            if local_datetime(self.end) <= local_datetime(self.start):
                raise ValueError("end: must be after start:")
        else:
            if self.every is None or self.at is None or self.duration is None:
                raise ValueError("a recurring window needs every:, at: and duration:")
            local_time(self.at)
            if not 0 < self.duration <= 7 * 86400:
                raise ValueError("duration: expected more than 0 and at most 7d")
        if self.timezone is not None:
            import zoneinfo

            try:
                zoneinfo.ZoneInfo(self.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from None


def local_datetime(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise ValueError(
            f"expected a local date and time such as 2026-12-01 22:00, got {text!r}"
        ) from None
    if parsed.tzinfo is not None:
        raise ValueError(f"write the local time without an offset and set timezone:, got {text!r}")
    return parsed


def local_time(text: str) -> time:
    match = _HHMM.match(text.strip())
    if not match:
        raise ValueError(f"at: expected a time such as 02:00, got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))
