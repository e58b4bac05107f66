"""Sections for ``opsbook serve``: its HTTP server, alert intake, and result retention."""

from __future__ import annotations

import msgspec

from opsbook.config.types import Duration, HostPort, severity_level

DEFAULT_LISTEN = "127.0.0.1:9184"


class TlsFiles(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """PEM files for serving HTTPS directly (the chain first in ``cert``)."""

    cert: str
    key: str


class ServerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    listen: HostPort = HostPort(DEFAULT_LISTEN)
    # the console takes passwords: beyond loopback it needs HTTPS, served here (tls) or by a
    # proxy in front (behind_proxy: true, which also makes X-Forwarded-Proto trusted)
    tls: TlsFiles | None = None
    behind_proxy: bool = False
    status_page: bool = False  # /status: the checks marked public, read-only, without login
    concurrency: int = 200  # checks in flight at once
    watch_config: bool = False  # reload opsbook.yaml when the file changes (as on SIGHUP)
    # several opsbook serve on one PostgreSQL store (docs/ha.md): this one's name (default
    # host:port), and how long a deployment may go without a leader before another takes over
    instance: str | None = None
    failover: Duration = Duration(10.0)

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= 100_000:
            raise ValueError("concurrency: expected a number from 1 to 100000")
        if self.instance is not None and not 0 < len(self.instance) <= 200:
            raise ValueError("instance: expected a name of 1 to 200 characters")
        if not 3 <= self.failover <= 600:
            raise ValueError("failover: expected between 3s and 10m")

    @property
    def lease_ttl(self) -> float:
        """The lease's length: the failover target less a follower's poll and a margin."""
        return max(2.0, float(self.failover) * 0.7)


class HeartbeatConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An outside dead man's switch (healthchecks.io and the like): pinged every interval,
    told ``/start`` at boot and ``/fail`` (with the reasons) while opsbook is degraded, so
    something outside pages when this host or its daemon dies."""

    url: str
    interval: Duration = Duration(60.0)
    timeout: Duration = Duration(10.0)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url: expected an http(s):// ping URL, got {self.url!r}")
        if self.interval < 1:
            raise ValueError("interval: expected 1s or more")


# The sender's severity word -> the incident severity. SEV-4 is recorded, not paged.
DEFAULT_INTAKE_SEVERITIES = {
    "critical": 2,
    "error": 3,
    "warning": 3,
    "info": 4,
    "informational": 4,
}
UNMAPPED_INTAKE_SEVERITY = 3


class IntakeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    token: str | None = None  # bearer token required by the intake endpoints
    max_body: int = 1_048_576  # bytes
    severities: dict[str, str] = {}  # e.g. {critical: SEV-1}; merged over the defaults
    # A source's "resolved" resolves the incident too, when no person has touched it yet
    auto_resolve: bool = False

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < 16:
            raise ValueError("token: expected at least 16 characters (use a random secret)")
        if self.max_body < 1024:
            raise ValueError("max_body: expected 1024 bytes or more")
        for word, level in self.severities.items():
            try:
                severity_level(level)
            except ValueError:
                raise ValueError(
                    f"severities: {word}: expected SEV-1 … SEV-4, got {level!r}"
                ) from None

    def severity_for(self, word: str) -> int:
        mapped = {k.lower(): severity_level(v) for k, v in self.severities.items()}
        table = {**DEFAULT_INTAKE_SEVERITIES, **mapped}
        return table.get(word.lower(), UNMAPPED_INTAKE_SEVERITY)


class RetentionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    raw: Duration = Duration(26 * 3600)  # every result, for a day and a bit
    rollups: Duration = Duration(90 * 86400)  # 5-minute summaries after that
    jobs: Duration = Duration(400 * 86400)  # calendar job runs (a year of monthly reports)
    job_output: Duration = Duration(30 * 86400)  # their output's tail (summaries stay)

    def __post_init__(self) -> None:
        if self.raw < 3600:
            raise ValueError("raw: expected 1h or more")
        if self.rollups < self.raw:
            raise ValueError("rollups: expected at least as long as raw")
        if self.job_output > self.jobs:
            raise ValueError("job_output: expected at most as long as jobs")
