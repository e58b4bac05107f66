"""Check status, with the Nagios plugin meaning of each value (it is also the exit code)."""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Status(enum.IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def severity(self) -> int:
        """Rank for "worst of": CRITICAL beats UNKNOWN beats WARNING beats OK.

        UNKNOWN (3) is numerically highest, but a check that failed outright matters more
        at 3 a.m. than one that could not measure, so CRITICAL ranks first (as Icinga does).
        """
        return _SEVERITY[self]


_SEVERITY = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status; OK for an empty run."""
    return max(statuses, key=lambda s: s.severity, default=Status.OK)
