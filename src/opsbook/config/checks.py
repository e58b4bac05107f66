"""The ``checks:`` section of opsbook.yaml: one frozen struct per check kind.

Every kind has ``warning`` / ``critical`` thresholds on its main measurement and a
``timeout``. Validation is msgspec's, not pydantic's: the measured reason is start-up time,
since ``opsbook check`` must stay within a few times the runbook's bash script and pydantic's
import and model building cost ~150 ms on the reference machine against msgspec's ~20 ms
(bench/check_vs_bash.py).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

import msgspec

from opsbook.config.types import (
    DEFAULT_ALERT_SEVERITY,
    AlertSeverity,
    Duration,
    HostPort,
    Percent,
    split_host_port,
)
from opsbook.results import CheckKind, Limit, LimitKind, limit_of

DEFAULT_TIMEOUT = Duration(5.0)
# the kinds that measure the host they run on: run by every instance of a deployment
HOST_LOCAL = frozenset({CheckKind.DISK, CheckKind.MEMORY, CheckKind.LOAD, CheckKind.CPU,
                        CheckKind.DISKIO, CheckKind.NETWORK, CheckKind.LOG,
                        CheckKind.LOG_ERRORS})  # fmt: skip
DEFAULT_INTERVAL = Duration(30.0)
# How long a bad state must hold before it fires, when `for:` is not given: at once for a
# target that stops answering, a minute for thresholds that may dip and recover.
CONNECTIVITY_FOR = Duration(0.0)
THRESHOLD_FOR = Duration(60.0)


class Role(enum.StrEnum):
    """Which replication role a database is expected to have."""

    ANY = "any"
    PRIMARY = "primary"
    REPLICA = "replica"


class CheckBase(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type"
):
    kind: ClassVar[CheckKind]
    connectivity: ClassVar[bool] = False  # whether its failures are "cannot reach it"
    timeout: Duration = DEFAULT_TIMEOUT
    description: str | None = None
    # opsbook serve: how often, and when a bad state becomes an alert and an incident
    interval: Duration = DEFAULT_INTERVAL
    for_: Duration | None = msgspec.field(default=None, name="for")
    keep_firing_for: Duration = Duration(0.0)
    severity: AlertSeverity = DEFAULT_ALERT_SEVERITY
    auto_resolve: Duration | None = None
    watch: bool = True  # redis, postgres, tcp: an idle connection notices a dead server at once
    # several opsbook serve on one store (docs/ha.md): which runs it: the leader, every
    # instance (each host's own resources), or one instance by name; None: by kind
    run_on: str | None = None
    # the public status page (server.status_page): shown there only when public, under its
    # group, by its public_name (the check's name by default); never its value or message
    public: bool = False
    public_name: str | None = None
    group: str | None = None

    @property
    def placement(self) -> str:
        """``leader``, ``all`` or an instance's name: ``run_on``, else ``all`` for the kinds
        that measure the host they run on and ``leader`` for remote targets."""
        if self.run_on:
            return self.run_on
        return "all" if self.kind in HOST_LOCAL else "leader"

    @property
    def pending_for(self) -> float:
        """``for:``, or its default for the kind."""
        if self.for_ is not None:
            return float(self.for_)
        return float(CONNECTIVITY_FOR if self.connectivity else THRESHOLD_FOR)

    def _base_checks(self) -> None:
        if self.run_on is not None and not 0 < len(self.run_on) <= 200:
            raise ValueError("run_on: expected leader, all, or an instance's name")
        if self.timeout <= 0:
            raise ValueError("timeout: expected a duration greater than zero")
        if self.interval < 1:
            raise ValueError("interval: expected 1s or more")

    @staticmethod
    def _rising(warning: float | None, critical: float | None, what: str) -> None:
        """Where a higher value is worse, the warning threshold must come first."""
        if warning is not None and critical is not None and warning > critical:
            raise ValueError(
                f"{what}: warning ({warning:g}) must not be above critical ({critical:g})"
            )


class HttpCheck(CheckBase, frozen=True, tag="http"):
    kind = CheckKind.HTTP
    connectivity = True
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = {}
    body: str | None = None
    expect_status: int | tuple[int, ...] | None = None  # None: any 2xx
    expect_body: str | None = None
    expect_json: dict[str, str | int | float | bool | None] | None = None
    warning: Duration | None = None  # response time
    critical: Duration | None = None
    verify_tls: bool = True
    ca_file: Path | None = None
    follow_redirects: bool = False

    def __post_init__(self) -> None:
        self._base_checks()
        http_url(self.url)
        for code in self.expected_statuses:
            if not 100 <= code <= 599:
                raise ValueError(f"expect_status: expected HTTP status codes 100-599, got {code}")
        self._rising(self.warning, self.critical, "response time")

    @property
    def expected_statuses(self) -> tuple[int, ...]:
        """The accepted codes; empty means any 2xx."""
        if self.expect_status is None:
            return ()
        return (self.expect_status,) if isinstance(self.expect_status, int) else self.expect_status


class PostgresCheck(CheckBase, frozen=True, tag="postgres"):
    kind = CheckKind.POSTGRES
    connectivity = True
    dsn: str
    warning: Percent = Percent(80)  # connections in use, of those available to clients
    critical: Percent = Percent(95)
    role: Role = Role.ANY

    def __post_init__(self) -> None:
        self._base_checks()
        self._rising(self.warning, self.critical, "connections")


class PgReport(enum.StrEnum):
    """The `opsbook db` diagnostics a `pgdiag` check can run."""

    ACTIVITY = "activity"
    SLOW_QUERIES = "slow-queries"
    BLOAT = "bloat"
    INDEXES = "indexes"
    HEALTH = "health"


# The thresholds of `opsbook db` reports (postgres/limits.py), by the kind of value they take.
PG_LIMITS: dict[str, LimitKind] = {
    "idle_in_transaction": "duration",
    "transaction_age": "duration",
    "query_time": "duration",
    "vacuum_age": "duration",
    "analyze_age": "duration",
    "bloat_share": "percent",
    "bloat_wasted": "size",
}
LimitSpec = str | int | float | dict[str, str | int | float]


class PgdiagCheck(CheckBase, frozen=True, kw_only=True, tag="pgdiag"):
    """One `opsbook db` report as a check: its status and one-line summary, judged by the
    report's thresholds, which the check may set as check_postgres's -w/-c would."""

    kind = CheckKind.PGDIAG
    dsn: str
    report: PgReport = PgReport.HEALTH
    # Diagnostics read catalogs and statistics views: slower than a ping, and rarely needed.
    timeout: Duration = Duration(30.0)
    interval: Duration = Duration(300.0)
    watch: bool = False
    idle_in_transaction: LimitSpec | None = None  # 5m, or {warning: 5m, critical: 30m}
    transaction_age: LimitSpec | None = None
    query_time: LimitSpec | None = None
    vacuum_age: LimitSpec | None = None
    analyze_age: LimitSpec | None = None
    bloat_share: LimitSpec | None = None  # 50%
    bloat_wasted: LimitSpec | None = None  # 100MB

    def __post_init__(self) -> None:
        self._base_checks()
        self.limits()

    def limits(self) -> dict[str, Limit]:
        """The thresholds this check sets; the report's defaults hold for the rest."""
        out = {}
        for name, kind in PG_LIMITS.items():
            value = getattr(self, name)
            if value is None:
                continue
            try:
                out[name] = limit_of(kind, value)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return out


class RecordCheck(CheckBase, frozen=True, kw_only=True):
    """A check that judges what the store recorded (backup runs, job runs)."""

    store: str | None = None  # the store to read; default: the file's store:
    # A failed run is an event, not a reading that may recover by itself: fire at once.
    for_: Duration | None = msgspec.field(default=Duration(0.0), name="for")
    interval: Duration = Duration(60.0)
    timeout: Duration = Duration(15.0)
    watch: bool = False

    def __post_init__(self) -> None:
        self._base_checks()


class BackupCheck(RecordCheck, frozen=True, kw_only=True, tag="backup"):
    """A backup source's health from the store: fresh, verified, and its last run good.

    One is added for every source under backups: (named backup-<source>) unless the file
    defines a check of that name itself.
    """

    kind = CheckKind.BACKUP
    source: str
    max_age: Duration = Duration(26 * 3600)  # no successful backup for this long: CRITICAL


class RedisCheck(CheckBase, frozen=True, tag="redis"):
    kind = CheckKind.REDIS
    connectivity = True
    url: str
    warning: Percent = Percent(80)  # used memory, of maxmemory (or of system memory when unset)
    critical: Percent = Percent(90)
    clients_warning: Percent = Percent(80)  # connected clients, of maxclients
    clients_critical: Percent = Percent(95)
    role: Role = Role.ANY

    def __post_init__(self) -> None:
        self._base_checks()
        parts = urlsplit(self.url)
        ok = (parts.scheme in ("redis", "rediss") and parts.hostname) or (
            parts.scheme == "unix" and parts.path
        )
        if not ok:
            raise ValueError(
                "url: expected redis://[user:password@]host[:port][/db], rediss://… or "
                f"unix:///path/to/redis.sock, got {self.url!r}"
            )
        self._rising(self.warning, self.critical, "memory")
        self._rising(self.clients_warning, self.clients_critical, "clients")


class DiskCheck(CheckBase, frozen=True, tag="disk"):
    kind = CheckKind.DISK
    path: str = "/"
    warning: Percent = Percent(80)  # space used, as df counts it
    critical: Percent = Percent(90)
    inodes_warning: Percent = Percent(80)
    inodes_critical: Percent = Percent(90)

    def __post_init__(self) -> None:
        self._base_checks()
        self._rising(self.warning, self.critical, "disk used")
        self._rising(self.inodes_warning, self.inodes_critical, "inodes used")


class MemoryCheck(CheckBase, frozen=True, tag="memory"):
    kind = CheckKind.MEMORY
    warning: Percent = Percent(90)  # used = total - available, as free(1) counts it
    critical: Percent = Percent(95)

    def __post_init__(self) -> None:
        self._base_checks()
        self._rising(self.warning, self.critical, "memory used")


class LoadCheck(CheckBase, frozen=True, tag="load"):
    kind = CheckKind.LOAD
    period: Literal["1m", "5m", "15m"] = "5m"
    warning: Annotated[float, msgspec.Meta(ge=0)] = 1.5  # load average per CPU
    critical: Annotated[float, msgspec.Meta(ge=0)] = 3.0

    def __post_init__(self) -> None:
        self._base_checks()
        self._rising(self.warning, self.critical, "load per CPU")


class TlsCheck(CheckBase, frozen=True, tag="tls"):
    kind = CheckKind.TLS
    file: Path | None = None
    host: str | None = None  # host[:port], port 443 by default
    servername: str | None = None  # SNI name when it differs from host
    warning: Duration = Duration(30 * 86400)  # time left before expiry
    critical: Duration = Duration(7 * 86400)
    verify: bool = True
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        self._base_checks()
        if (self.file is None) == (self.host is None):
            raise ValueError("give exactly one of file: (a PEM certificate) or host: (host:port)")
        if self.host is not None:
            try:
                split_host_port(self.host, 443)
            except ValueError:
                raise ValueError(f"host: expected host or host:port, got {self.host!r}") from None
        if self.warning < self.critical:
            raise ValueError(
                "time left: warning must not be shorter than critical "
                "(warning fires first, e.g. warning: 30d, critical: 7d)"
            )


class TcpCheck(CheckBase, frozen=True, tag="tcp"):
    kind = CheckKind.TCP
    connectivity = True
    host: HostPort
    warning: Duration | None = None  # connect time
    critical: Duration | None = None

    def __post_init__(self) -> None:
        self._base_checks()
        self._rising(self.warning, self.critical, "connect time")


class CommandCheck(CheckBase, frozen=True, tag="command"):
    kind = CheckKind.COMMAND
    command: Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]

    def __post_init__(self) -> None:
        self._base_checks()


CheckConfig = (
    HttpCheck
    | PostgresCheck
    | RedisCheck
    | DiskCheck
    | MemoryCheck
    | LoadCheck
    | TlsCheck
    | TcpCheck
    | CommandCheck
    | PgdiagCheck
    | BackupCheck
)

CHECK_MODELS: dict[CheckKind, type[CheckBase]] = {
    CheckKind.HTTP: HttpCheck,
    CheckKind.POSTGRES: PostgresCheck,
    CheckKind.REDIS: RedisCheck,
    CheckKind.DISK: DiskCheck,
    CheckKind.MEMORY: MemoryCheck,
    CheckKind.LOAD: LoadCheck,
    CheckKind.TLS: TlsCheck,
    CheckKind.TCP: TcpCheck,
    CheckKind.COMMAND: CommandCheck,
    CheckKind.PGDIAG: PgdiagCheck,
    CheckKind.BACKUP: BackupCheck,
}


def http_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url: expected an http:// or https:// URL with a host, got {url!r}")
