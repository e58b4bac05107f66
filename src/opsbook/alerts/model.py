"""Alert values: states, the events between them, and the rule a check's config implies."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsbook.config.checks import CheckBase
from opsbook.status import Status


class AlertState(enum.StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


class EventKind(enum.StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    ESCALATED = "escalated"  # still firing, now at a worse level
    RESOLVED = "resolved"
    FLAPPING = "flapping"
    FLAPPING_STOPPED = "flapping_stopped"
    SILENCED = "silenced"


class Source(enum.StrEnum):
    CHECK = "check"
    ALERTMANAGER = "alertmanager"
    PAGERDUTY = "pagerduty"
    OPSBOOK = "opsbook"  # opsbook about itself: a task of the daemon crashing
    TREND = "trend"  # a trend rule over the stored history (trends:)


@dataclass(frozen=True)
class Rule:
    """What a check's config says about alerting on it."""

    pending_for: float  # seconds a bad state must hold before firing
    keep_firing_for: float
    critical_severity: int
    warning_severity: int
    auto_resolve: float | None

    @classmethod
    def of(cls, check: CheckBase) -> Rule:
        return cls(
            pending_for=check.pending_for,
            keep_firing_for=float(check.keep_firing_for),
            critical_severity=check.severity.critical,
            warning_severity=check.severity.warning,
            auto_resolve=float(check.auto_resolve) if check.auto_resolve is not None else None,
        )

    def severity_for(self, level: Status) -> int:
        return self.critical_severity if level is Status.CRITICAL else self.warning_severity


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    source: Source
    name: str
    labels: dict[str, str]
    state: AlertState = AlertState.INACTIVE
    level: Status = Status.OK  # the worst level seen since it went bad
    severity: int | None = None  # incident severity while firing
    summary: str = ""
    pending_since: datetime | None = None
    firing_since: datetime | None = None
    last_bad_at: datetime | None = None
    resolved_at: datetime | None = None  # last resolution (for auto_resolve timers)
    incident_id: str | None = None
    flapping: bool = False
    flips: tuple[datetime, ...] = ()  # recent good<->bad changes, for flap detection
    last_status: Status | None = None
    updated_at: datetime | None = None
    suppressed: bool = False  # fired while silenced: open its incident when that ends


@dataclass(frozen=True)
class Event:
    kind: EventKind
    at: datetime
    level: Status
    severity: int | None
    summary: str
    data: dict[str, Any] = field(default_factory=dict)
