"""What every check returns, and the threshold rules they share.

The bottom of the house: checks produce these, and clients, alerts, the daemon, output and
the Nagios format read them, so this module imports nothing of opsbook but ``status``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsbook.status import Status


class CheckKind(enum.StrEnum):
    HTTP = "http"
    POSTGRES = "postgres"
    REDIS = "redis"
    DISK = "disk"
    MEMORY = "memory"
    LOAD = "load"
    TLS = "tls"
    TCP = "tcp"
    COMMAND = "command"
    PROMETHEUS = "prometheus"
    PGDIAG = "pgdiag"
    BACKUP = "backup"
    LOG = "log"
    LOG_ERRORS = "log_errors"


class Unit(enum.StrEnum):
    SECONDS = "s"
    PERCENT = "%"
    BYTES = "B"
    DAYS = "days"
    COUNT = ""


@dataclass(frozen=True)
class Metric:
    """One measured number, as Nagios perfdata and later Prometheus samples carry it."""

    name: str
    value: float
    unit: Unit
    warning: float | None = None
    critical: float | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Reading:
    """A check module's answer: status, main value, one human line, and detail."""

    status: Status
    message: str
    value: float | None = None
    unit: Unit = Unit.COUNT
    metrics: tuple[Metric, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    local_fault: bool = False  # opsbook could not measure (its own shortage): says nothing


@dataclass(frozen=True)
class Result:
    """A Reading with who, what and when: the unit every output format renders."""

    name: str
    kind: CheckKind
    target: str  # masked, safe to print
    status: Status
    message: str
    value: float | None
    unit: Unit
    duration: float  # seconds
    started_at: datetime
    metrics: tuple[Metric, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    # opsbook itself was short of descriptors or memory: no verdict on the target, so the
    # daemon neither stores it nor lets it move an alert, and reports its own degradation
    local_fault: bool = False


class Phase:
    """Where a running check is ("connecting", "for the first byte"): when its timeout
    strikes, the result says what it was waiting for."""

    def __init__(self) -> None:
        self.current = ""

    def at(self, phase: str) -> None:
        self.current = phase


def rising(value: float, warning: float | None, critical: float | None) -> Status:
    """Status where higher is worse: at or above a threshold trips it."""
    if critical is not None and value >= critical:
        return Status.CRITICAL
    if warning is not None and value >= warning:
        return Status.WARNING
    return Status.OK


def falling(value: float, warning: float | None, critical: float | None) -> Status:
    """Status where lower is worse (time left before expiry): below a threshold trips it."""
    if critical is not None and value < critical:
        return Status.CRITICAL
    if warning is not None and value < warning:
        return Status.WARNING
    return Status.OK
