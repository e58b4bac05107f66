"""The ``logs:`` section: where the access and error logs are, and their nginx log_format."""

from __future__ import annotations

import msgspec


class LogsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # nginx's log_format string for the access logs, or a preset: combined, timed.
    # None: detected from the first lines (timed, else combined).
    log_format: str | None = None
    access: tuple[str, ...] = ()  # default files for `opsbook logs access`
    errors: tuple[str, ...] = ()  # default files for `opsbook logs errors`
    # Clients from $http_x_forwarded_for: only behind a proxy that sets it (clients can forge it).
    forwarded_for: bool = False
    # Paths only an attacker asks for on this app, as regexes, added to the built-in list.
    probe_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.log_format is not None:
            from opsbook.errors import UsageError
            from opsbook.logs.formats import compile_format

            try:
                compile_format(self.log_format)
            except UsageError as exc:
                raise ValueError(f"log_format: {exc}") from None
