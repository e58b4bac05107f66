"""The ``checks:`` section of opsbook.yaml: one model per check kind.

Every kind has ``warning`` / ``critical`` thresholds on its main measurement and a
``timeout``; the models are frozen and reach the check modules as they are.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsbook.config.types import Duration, HostPort, Percent, PositiveDuration, split_host_port

DEFAULT_TIMEOUT = 5.0


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


class Role(enum.StrEnum):
    """Which replication role a database is expected to have."""

    ANY = "any"
    PRIMARY = "primary"
    REPLICA = "replica"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckBase(Model):
    timeout: PositiveDuration = DEFAULT_TIMEOUT
    description: str | None = None

    def _thresholds_rise(self, warning: float | None, critical: float | None, what: str) -> None:
        """Where a higher value is worse, the warning threshold must come first."""
        if warning is not None and critical is not None and warning > critical:
            raise ValueError(
                f"{what}: warning ({warning:g}) must not be above critical ({critical:g})"
            )


class HttpCheck(CheckBase):
    type: Literal[CheckKind.HTTP]
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expect_status: tuple[int, ...] | None = None  # None: any 2xx
    expect_body: str | None = None
    expect_json: dict[str, str | int | float | bool | None] | None = None
    warning: Duration | None = None  # response time
    critical: Duration | None = None
    verify_tls: bool = True
    ca_file: Path | None = None
    follow_redirects: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL with a host, got {value!r}")
        return value

    @field_validator("expect_status", mode="before")
    @classmethod
    def _status_list(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if isinstance(value, list):
            for code in value:
                if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
                    raise ValueError(f"expected HTTP status codes 100-599, got {code!r}")
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        self._thresholds_rise(self.warning, self.critical, "response time")
        return self


class PostgresCheck(CheckBase):
    type: Literal[CheckKind.POSTGRES]
    dsn: str
    warning: Percent = 80.0  # connections in use, of those available to clients
    critical: Percent = 95.0
    role: Role = Role.ANY

    @model_validator(mode="after")
    def _check(self) -> Self:
        self._thresholds_rise(self.warning, self.critical, "connections")
        return self


class RedisCheck(CheckBase):
    type: Literal[CheckKind.REDIS]
    url: str
    warning: Percent = 80.0  # used memory, of maxmemory (or of system memory when unset)
    critical: Percent = 90.0
    clients_warning: Percent = 80.0  # connected clients, of maxclients
    clients_critical: Percent = 95.0
    role: Role = Role.ANY

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        ok = (parts.scheme in ("redis", "rediss") and parts.hostname) or (
            parts.scheme == "unix" and parts.path
        )
        if not ok:
            raise ValueError(
                "expected redis://[user:password@]host[:port][/db], rediss://… or "
                f"unix:///path/to/redis.sock, got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        self._thresholds_rise(self.warning, self.critical, "memory")
        self._thresholds_rise(self.clients_warning, self.clients_critical, "clients")
        return self


class DiskCheck(CheckBase):
    type: Literal[CheckKind.DISK]
    path: str = "/"
    warning: Percent = 80.0  # space used, as df counts it
    critical: Percent = 90.0
    inodes_warning: Percent = 80.0
    inodes_critical: Percent = 90.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        self._thresholds_rise(self.warning, self.critical, "disk used")
        self._thresholds_rise(self.inodes_warning, self.inodes_critical, "inodes used")
        return self


class MemoryCheck(CheckBase):
    type: Literal[CheckKind.MEMORY]
    warning: Percent = 90.0  # used = total - available, as free(1) counts it
    critical: Percent = 95.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        self._thresholds_rise(self.warning, self.critical, "memory used")
        return self


class LoadCheck(CheckBase):
    type: Literal[CheckKind.LOAD]
    period: Literal["1m", "5m", "15m"] = "5m"
    warning: Annotated[float, Field(gt=0)] = 1.5  # load average per CPU
    critical: Annotated[float, Field(gt=0)] = 3.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        self._thresholds_rise(self.warning, self.critical, "load per CPU")
        return self


class TlsCheck(CheckBase):
    type: Literal[CheckKind.TLS]
    file: Path | None = None
    host: str | None = None  # host[:port], port 443 by default
    servername: str | None = None  # SNI name when it differs from host
    warning: Duration = 30 * 86400.0  # time left before expiry
    critical: Duration = 7 * 86400.0
    verify: bool = True
    ca_file: Path | None = None

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None:
            split_host_port(value, 443)
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.file is None) == (self.host is None):
            raise ValueError("give exactly one of file: (a PEM certificate) or host: (host:port)")
        if self.warning < self.critical:
            raise ValueError(
                "time left: warning must not be shorter than critical "
                "(warning fires first, e.g. warning: 30d, critical: 7d)"
            )
        return self


class TcpCheck(CheckBase):
    type: Literal[CheckKind.TCP]
    host: HostPort
    warning: Duration | None = None  # connect time
    critical: Duration | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        self._thresholds_rise(self.warning, self.critical, "connect time")
        return self


class CommandCheck(CheckBase):
    type: Literal[CheckKind.COMMAND]
    command: Annotated[tuple[str, ...], Field(min_length=1)]

    @field_validator("command", mode="before")
    @classmethod
    def _argv(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                "expected a list of arguments such as [/usr/lib/nagios/plugins/check_ntp_time, "
                "-H, pool.ntp.org] (no shell is used, so a string is not split)"
            )
        return value


CheckConfig = Annotated[
    HttpCheck
    | PostgresCheck
    | RedisCheck
    | DiskCheck
    | MemoryCheck
    | LoadCheck
    | TlsCheck
    | TcpCheck
    | CommandCheck,
    Field(discriminator="type"),
]

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
}
