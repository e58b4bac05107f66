"""Noticing a dead server between runs: an idle TCP connection to each redis, postgres and
tcp target, whose close (the kernel sends it the moment the process dies) runs the check at
once instead of at its next interval; while it is down the connection is retried every two
seconds, and the check runs again the moment the server is back.

A server that closes idle connections on purpose (PostgreSQL after authentication_timeout)
only causes an early, passing check; re-arming is throttled so that never becomes a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from opsbook.config.checks import CheckBase, PostgresCheck, RedisCheck, TcpCheck
from opsbook.config.types import split_host_port

CONNECT_TIMEOUT = 2.0
SHORT_LIVED = 5.0  # a watch connection closed sooner than this re-arms after a pause
DOWN_POLL = 2.0  # seconds between connection attempts while the server is down


def target(check: CheckBase) -> tuple[str, int] | None:
    """host, port to watch, or None for kinds (or forms) that are not watched."""
    if not check.watch:
        return None
    if isinstance(check, TcpCheck):
        return split_host_port(check.host)
    if isinstance(check, RedisCheck):
        parts = urlsplit(check.url)
        return (parts.hostname, parts.port or 6379) if parts.hostname else None
    if isinstance(check, PostgresCheck):
        return _pg_target(check.dsn)
    return None


def _pg_target(dsn: str) -> tuple[str, int] | None:
    if dsn.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(dsn)
        host = parts.hostname
        if host and "," not in (parts.netloc or "") and not host.startswith("/"):
            return host, parts.port or 5432
        return None
    fields = dict(p.split("=", 1) for p in dsn.split() if "=" in p)
    host = fields.get("host") or fields.get("hostaddr")
    if not host or host.startswith("/") or "," in host:
        return None
    port = fields.get("port", "5432")
    return (host, int(port)) if port.isdigit() else None


class Watcher:
    def __init__(self, checks: Mapping[str, CheckBase], wake: Callable[[str], None]) -> None:
        self.targets = {name: t for name, c in checks.items() if (t := target(c)) is not None}
        self.intervals = {name: float(checks[name].interval) for name in self.targets}
        self.wake = wake
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for name, (host, port) in self.targets.items():
            self.tasks.append(
                asyncio.create_task(self._watch(name, host, port), name=f"watch:{name}")
            )

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, name: str, host: str, port: int) -> None:
        interval = self.intervals[name]
        down = False
        short_lived = False
        while True:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    reader, writer = await asyncio.open_connection(host, port)
            except (OSError, TimeoutError):
                # Down: look again soon, so a recovery is noticed at once too.
                down = True
                await asyncio.sleep(min(interval, DOWN_POLL))
                continue
            if down:  # it is back: run the check now rather than at its next interval
                down = False
                self.wake(name)
            elif short_lived:
                # Up, and it closed the last one soon: a server that drops idle connections
                # on purpose. Pause before holding another, so that never becomes a loop.
                writer.close()
                short_lived = False
                await asyncio.sleep(max(1.0, interval / 2))
                continue
            opened = time.monotonic()
            with contextlib.suppress(OSError):
                await reader.read(1)  # nothing is ever sent; this returns when it closes
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            self.wake(name)
            short_lived = time.monotonic() - opened < SHORT_LIVED
            await asyncio.sleep(0.2)
