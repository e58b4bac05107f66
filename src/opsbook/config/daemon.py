"""Sections for ``opsbook serve``: its HTTP server, alert intake, and result retention."""

from __future__ import annotations

import msgspec

from opsbook.config.types import Duration, HostPort

DEFAULT_LISTEN = "127.0.0.1:9184"


class ServerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    listen: HostPort = HostPort(DEFAULT_LISTEN)
    concurrency: int = 200  # checks in flight at once

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= 100_000:
            raise ValueError("concurrency: expected a number from 1 to 100000")


class IntakeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    token: str | None = None  # bearer token required by the intake endpoints
    max_body: int = 1_048_576  # bytes

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < 16:
            raise ValueError("token: expected at least 16 characters (use a random secret)")


class RetentionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    raw: Duration = Duration(26 * 3600)  # every result, for a day and a bit
    rollups: Duration = Duration(90 * 86400)  # 5-minute summaries after that

    def __post_init__(self) -> None:
        if self.raw < 3600:
            raise ValueError("raw: expected 1h or more")
        if self.rollups < self.raw:
            raise ValueError("rollups: expected at least as long as raw")
