"""The access report as plain values: what every output (table, JSON, HTML) renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Latency:
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    route: str
    requests: int
    s4xx: int
    s5xx: int
    total_seconds: float
    bytes: int
    latency: Latency | None


@dataclass(frozen=True, slots=True)
class Client:
    ip: str
    requests: int
    s4xx: int
    s5xx: int
    bytes: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class ProbedPath:
    path: str
    requests: int
    answered: int  # probes that got 2xx/3xx: the ones to look at first
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class RouteHit:
    """A route a suspicious client got 401/403/404 on."""

    method: str
    route: str
    requests: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class Suspect:
    """A client worth a look: why, with counts and the time span."""

    ip: str
    reasons: tuple[str, ...]
    requests: int
    s401: int
    s403: int
    s404: int
    peak_denied_per_minute: int
    first: datetime | None
    last: datetime | None
    probes: tuple[ProbedPath, ...]
    denied_routes: tuple[RouteHit, ...] = ()  # the most hit first, at most 10


@dataclass(frozen=True, slots=True)
class Bucket:
    """One step of the timeline; latency from ~9 %-wide buckets (charts, not alerts)."""

    start: datetime
    seconds: int
    requests: int
    classes: dict[str, int]
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class Unparsed:
    file: str
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class AccessReport:
    files: tuple[str, ...]
    log_format: str
    latency_field: str | None
    requests: int
    unparsed: int
    unparsed_examples: tuple[Unparsed, ...]
    first: datetime | None
    last: datetime | None
    statuses: dict[int, int]
    classes: dict[str, int]
    bytes: int
    latency: Latency | None
    routes: tuple[Route, ...]
    routes_by_time: tuple[Route, ...]
    routes_by_errors: tuple[Route, ...]
    clients: tuple[Client, ...]
    agents: tuple[tuple[str, int], ...]
    suspicious: tuple[Suspect, ...]
    timeline: tuple[Bucket, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def span_seconds(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first).total_seconds()

    def share(self, cls: str) -> float:
        return self.classes.get(cls, 0) / self.requests if self.requests else 0.0
