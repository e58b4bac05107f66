"""Times for people: the operator's time zone (``timezone:`` in opsbook.yaml, else this
machine's) in human output; UTC ISO 8601 in JSON."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo

from opsbook.errors import UsageError
from opsbook.units import parse_duration


def zone(name: str | None) -> tzinfo:
    if name:
        import zoneinfo

        return zoneinfo.ZoneInfo(name)
    local = datetime.now().astimezone().tzinfo
    return local or UTC


def human(at: datetime | None, tz: tzinfo, *, seconds: bool = False) -> str:
    if at is None:
        return ""
    local = at.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at is not None else None


def parse_moment(text: str, tz: str | None, what: str) -> datetime:
    """A moment a person typed: ISO ("2026-12-02 14:37:00", "…T14:37Z"), in zone ``tz``
    unless it carries its own offset."""
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{what} {text!r}: expected a time such as '2026-12-02 14:37:00' "
            "(opsbook.yaml's time zone unless an offset is given)"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=zone(tz))


def parse_since(text: str, now: datetime) -> datetime:
    """``90d`` / ``12h`` back from now, or a date (``2026-11-01``) or ISO time."""
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {text!r}: expected a duration back from now (90d, 12h) or a date "
            "(2026-11-01) or time (2026-11-01T09:00)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def parse_due(text: str, today: date) -> date:
    """``2026-12-15``, or a duration from today (``7d``)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return today + timedelta(seconds=parse_duration(text))
    except ValueError:
        raise UsageError(
            f"--due {text!r}: expected a date (2026-12-15) or a time from today (7d)"
        ) from None


def utcnow() -> datetime:
    return datetime.now(UTC)


@functools.cache  # one origin per process: every reader sees the same fast time
def calendar_clock() -> Callable[[], datetime]:
    """The clock the job calendar reads: this machine's, or for tests a fast one.

    ``OPSBOOK_TEST_CLOCK="2026-03-08T06:58:00Z*60"`` starts the calendar at that instant when
    the process starts and runs it 60 times faster, so a test sees a night of cron fires (and
    a DST change) in a minute. Only the calendar follows it (schedules, runs, overdue); leases,
    locks and checks keep real time.
    """
    import os
    import time

    spec = os.environ.get("OPSBOOK_TEST_CLOCK")
    if not spec:
        return utcnow
    start_text, _, rate_text = spec.partition("*")
    start = datetime.fromisoformat(start_text.replace("Z", "+00:00")).astimezone(UTC)
    rate = float(rate_text or 1)
    origin = time.monotonic()

    def fast() -> datetime:
        return start + timedelta(seconds=(time.monotonic() - origin) * rate)

    return fast
