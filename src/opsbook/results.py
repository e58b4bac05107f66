"""What every check returns, and the threshold rules they share.

The bottom of the house: checks produce these, and clients, alerts, the daemon, output and
the Nagios format read them, so this module imports nothing of opsbook but ``status``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

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
    CPU = "cpu"
    DISKIO = "diskio"
    NETWORK = "network"
    SQL = "sql"
    PGSTATS = "pgstats"
    PGBOUNCER = "pgbouncer"
    JOB = "job"
    CONTAINER = "container"
    WAL_ARCHIVE = "wal_archive"


class Unit(enum.StrEnum):
    SECONDS = "s"
    PERCENT = "%"
    BYTES = "B"
    DAYS = "days"
    COUNTER = "c"  # a continuous counter (Nagios's c): its rate is what a grapher shows
    COUNT = ""


@dataclass(frozen=True)
class Range:
    """A threshold as Nagios ranges say it: the value is fine within [low, high] (None is
    unbounded, Nagios's ``~`` or an empty end) and alerts outside; ``inside`` (Nagios's ``@``)
    turns that round. Every check judges through these, so the perfdata it emits alerts in
    Nagios or Icinga exactly as opsbook does (Nagios Plugin Guidelines, threshold ranges)."""

    low: float | None = 0.0
    high: float | None = None
    inside: bool = False

    def alerts(self, value: float) -> bool:
        within = (self.low is None or value >= self.low) and (
            self.high is None or value <= self.high
        )
        return within if self.inside else not within

    def scaled(self, factor: float) -> Range:
        return Range(
            None if self.low is None else self.low * factor,
            None if self.high is None else self.high * factor,
            self.inside,
        )

    def text(self, floor: float | None = None) -> str:
        """Nagios range syntax. ``floor``: the least the value can be (a percentage's 0),
        so that ``~:30`` may be written as the usual ``30``, alerting the same."""
        low = self.low
        if low is None and floor is not None and floor >= 0 and not self.inside:
            low = 0.0  # below the floor never happens: 0..high alerts as -inf..high
        if low is None:
            start = "~:"
        elif low == 0 and self.high is not None:
            start = ""
        else:
            start = f"{number(low)}:"
        end = "" if self.high is None else number(self.high)
        return ("@" if self.inside else "") + start + end

    def __str__(self) -> str:
        return self.text()


def above(threshold: float | None) -> Range | None:
    """Higher is worse: alerts when the value is over ``threshold`` (Nagios's ``~:t``)."""
    return None if threshold is None else Range(None, threshold)


def below(threshold: float | None) -> Range | None:
    """Lower is worse: alerts when the value is under ``threshold`` (Nagios's ``t:``)."""
    return None if threshold is None else Range(threshold, None)


def number(value: float) -> str:
    """Shortest exact-enough text: 30, 0.5, 1e-05."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}" if abs(value) < 1e-4 else f"{value:.6f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Metric:
    """One measured number, as Nagios perfdata and Prometheus samples carry it. ``value`` is
    None where a plugin said ``U`` (it could not measure)."""

    name: str
    value: float | None
    unit: Unit
    warning: Range | None = None
    critical: Range | None = None
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

    def __init__(self, check: str = "") -> None:
        self.current = ""
        self.check = check  # the check's name: the key of state a kind keeps between runs

    def at(self, phase: str) -> None:
        self.current = phase


def judge(value: float, warning: Range | None, critical: Range | None) -> Status:
    """CRITICAL when the critical range alerts, else WARNING when the warning one does."""
    if critical is not None and critical.alerts(value):
        return Status.CRITICAL
    if warning is not None and warning.alerts(value):
        return Status.WARNING
    return Status.OK


def rising(value: float, warning: float | None, critical: float | None) -> Status:
    """Higher is worse: over a threshold trips it (the runbook's "> 90 %", Nagios's ``90``)."""
    return judge(value, above(warning), above(critical))


@dataclass(frozen=True)
class Limit:
    """A WARNING/CRITICAL pair over which a measure alerts (check_postgres's -w/-c)."""

    warning: float | None = None
    critical: float | None = None

    def status(self, value: float) -> Status:
        return rising(value, self.warning, self.critical)

    @property
    def off(self) -> bool:
        return self.warning is None and self.critical is None

    @property
    def least(self) -> float | None:
        """The lowest threshold set: what is worth listing at all."""
        given = [v for v in (self.warning, self.critical) if v is not None]
        return min(given) if given else None


LimitKind = Literal["duration", "percent", "size"]
_EXAMPLES = {"duration": "5m,30m", "percent": "50%,80%", "size": "100MB,1GB"}


def parse_limit(kind: LimitKind, text: str) -> Limit:
    """``5m`` (a warning), ``5m,30m`` (warning, critical), ``,30m``, or ``off``."""
    from opsbook.units import parse_duration, parse_percent, parse_size

    def value(part: str) -> float:
        if kind == "percent":
            return parse_percent(part if part.endswith("%") else part + "%")
        if kind == "size":
            return float(parse_size(part))
        return parse_duration(part)

    if text.strip().lower() == "off":
        return Limit()
    parts = [p.strip() for p in text.split(",")]
    hint = f"expected WARNING[,CRITICAL] such as {_EXAMPLES[kind]}, or off"
    if len(parts) > 2:
        raise ValueError(f"{hint}, got {text!r}")
    values = [value(p) if p else None for p in parts] + [None]
    limit = Limit(values[0], values[1])
    if limit.off:
        raise ValueError(hint)
    if limit.warning is not None and limit.critical is not None and limit.warning > limit.critical:
        raise ValueError(f"the warning ({parts[0]}) must not be over the critical ({parts[1]})")
    return limit


def limit_of(kind: LimitKind, value: object) -> Limit:
    """A config value: ``5m``, ``50`` or ``{warning: 5m, critical: 30m}``."""
    if isinstance(value, dict):
        unknown = set(value) - {"warning", "critical"}
        if unknown:
            raise ValueError(f"expected warning: and critical:, got {sorted(unknown)}")
        text = f"{value.get('warning') or ''},{value.get('critical') or ''}"
        return parse_limit(kind, text)
    return parse_limit(kind, str(value))


def falling(value: float, warning: float | None, critical: float | None) -> Status:
    """Lower is worse (time left before expiry): under a threshold trips it."""
    return judge(value, below(warning), below(critical))
