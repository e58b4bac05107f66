"""Serving the daemon's HTTP app so that no client can starve it.

uvicorn alone keeps a connection that never sends a request open forever, and counts idle
connections against its limit, so a few hundred idle sockets made /health stop answering and
took the file descriptors the checks needed. Here:

- a connection must send its request headers within HEADER_TIMEOUT (slowloris), and an idle
  keep-alive connection is closed after KEEP_ALIVE;
- at most ``max_connections`` are open; a new one evicts the oldest *idle* one, so a flood
  of idle sockets cannot lock out the next real request (/health, an Alertmanager post);
- ``max_connections`` leaves a reserve of file descriptors for the checks, the store and the
  logs (``descriptor_budget``), after the soft RLIMIT_NOFILE is raised to the hard one;
- asyncio accepts up to the listen backlog in one wakeup before any connection_made (and so
  any eviction) runs: the backlog is ACCEPT_BURST, and the budget leaves room for one burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from opsbook.config.types import split_host_port
from opsbook.errors import OpsbookError

HEADER_TIMEOUT = 10.0
KEEP_ALIVE = 5.0
MAX_CONNECTIONS = 1024
RESERVE = 512  # descriptors kept for checks, the store and logs (half, on a small limit)
ACCEPT_BURST = 64  # connections asyncio may accept at once, before evicting any


def raise_descriptor_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if wanted > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return soft


def descriptor_budget(limit: int, configured: int = MAX_CONNECTIONS) -> int:
    """Inbound connections allowed under a descriptor limit, the reserve kept back and room
    left for one accept burst over the budget."""
    reserve = min(RESERVE, limit // 2)
    return max(16, min(configured, limit - reserve - ACCEPT_BURST))


class GuardedH11(H11Protocol):
    max_connections = MAX_CONNECTIONS
    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.opened_at = time.monotonic()
        self._deadline: asyncio.TimerHandle | None = None
        self._arm()
        if len(self.connections) > self.max_connections:
            self._evict_idle()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        if self.idle and not self.transport.is_closing():
            self.transport.close()

    @property
    def idle(self) -> bool:
        """No request being served (waiting for headers, or between keep-alive requests)."""
        return self.cycle is None or self.cycle.response_complete

    def handle_events(self) -> None:
        super().handle_events()
        if not self.idle:  # the headers are in: the app's own timeouts apply from here
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _evict_idle(self) -> None:
        idle = sorted(
            (c for c in self.connections if isinstance(c, GuardedH11) and c.idle and c is not self),
            key=lambda c: c.opened_at,
        )
        for conn in idle[: len(self.connections) - self.max_connections]:
            conn.transport.close()
            self.connections.discard(conn)


def refuse_exposure(listen: str, tls: bool, behind_proxy: bool) -> None:
    """The console takes passwords and session cookies: never in clear beyond this host."""
    import ipaddress

    host, _ = split_host_port(listen)
    if tls or behind_proxy or host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass  # a host name: not known to be loopback
    raise OpsbookError(
        f"server.listen {listen} is reachable beyond this host and would carry passwords in "
        "clear: set server.tls: {cert, key} to serve HTTPS, or server.behind_proxy: true when "
        "a TLS proxy (nginx) is in front"
    )


def tls_options(cert: str | None, key: str | None) -> dict[str, str]:
    """uvicorn's ssl options, the files checked now so a bad path is one clear line."""
    if cert is None or key is None:
        return {}
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise OpsbookError(
            f"server.tls: cannot use cert {cert} with key {key}: {why} (PEM files readable "
            "by this user, the key matching the certificate)"
        ) from None
    return {"ssl_certfile": cert, "ssl_keyfile": key}


def server(
    app: Any,
    max_connections: int,
    header_timeout: float = HEADER_TIMEOUT,
    tls: dict[str, str] | None = None,
) -> Any:
    """A uvicorn server for ``app`` that leaves SIGTERM/SIGINT to the daemon."""
    protocol = type(
        "Guarded",
        (GuardedH11,),
        {"max_connections": max_connections, "header_timeout": header_timeout},
    )

    class Server(uvicorn.Server):
        def capture_signals(self):  # type: ignore[no-untyped-def]
            return contextlib.nullcontext()

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            http=protocol, timeout_keep_alive=int(KEEP_ALIVE),
                            backlog=ACCEPT_BURST,
                            ssl_certfile=(tls or {}).get("ssl_certfile"),
                            ssl_keyfile=(tls or {}).get("ssl_keyfile"))  # fmt: skip
    return Server(config)


def bind(listen: str) -> socket.socket:
    host, port = split_host_port(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OpsbookError(
            f"cannot listen on {listen}: {exc.strerror} (set server.listen in "
            "opsbook.yaml, or --listen)"
        ) from None
    sock.listen(ACCEPT_BURST)
    sock.setblocking(False)
    return sock
