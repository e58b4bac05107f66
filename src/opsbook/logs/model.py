"""The access report as plain values: what every output (table, JSON, HTML) renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles and the maximum, in seconds (exact: from every millisecond value)."""

    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True, slots=True)
class Route:
    """A folded route (/api/orders/:id) with one method: its counts, time and latency."""

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
    """One client address: its requests, denials, errors, bytes and first/last request."""

    ip: str
    requests: int
    s4xx: int
    s5xx: int
    bytes: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class ProbedPath:
    """A path only an attacker asks for, as one suspect asked for it."""

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
    score: float = 0.0  # the ranking: answered probes, probe paths, denials by share


@dataclass(frozen=True, slots=True)
class AnsweredProbe:
    """A probe path that got a 2xx/3xx: the lines to act on first."""

    ip: str
    path: str
    requests: int  # answered ones
    status: int  # the highest status it got
    bytes: int  # the largest answered body
    catch_all: bool  # the same body size as other answered probes: likely a catch-all page
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class Day:
    """GoAccess's "unique visitors per day": a visitor is one IP with one user agent."""

    day: date
    hits: int
    visitors: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Count:
    """A name (an operating system, a referrer, a URL…) and how many requests had it."""

    name: str
    requests: int
    visitors: int = 0


@dataclass(frozen=True, slots=True)
class Audience:
    """What a GoAccess user reads beside the technical figures, from the same single pass."""

    days: tuple[Day, ...] = ()
    visitors: int = 0  # distinct (ip, agent) over the whole report
    referrers: tuple[Count, ...] = ()
    referring_sites: tuple[Count, ...] = ()
    browsers: tuple[Count, ...] = ()
    systems: tuple[Count, ...] = ()
    crawlers: tuple[Count, ...] = ()  # bots, scripts and monitors, apart from people
    hours: tuple[int, ...] = ()  # requests by hour of day (0-23) in the report's zone
    static: tuple[int, int] = (0, 0)  # (requests, bytes) of static files
    dynamic: tuple[int, int] = (0, 0)
    not_found: tuple[Count, ...] = ()  # 404 paths as requested, unfolded


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
    """A line no format could read: where it is, and its start."""

    file: str
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class AccessReport:
    """The whole access report: every output (table, JSON, HTML) renders this."""

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
    suspicious_total: int = 0  # every suspect, of which ``suspicious`` is the top
    answered_probes: tuple[AnsweredProbe, ...] = ()
    audience: Audience = field(default_factory=Audience)

    @property
    def span_seconds(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first).total_seconds()

    def share(self, cls: str) -> float:
        return self.classes.get(cls, 0) / self.requests if self.requests else 0.0
