"""Opening a TCP (optionally TLS) connection with timings and plain-language errors.

Shared by the http, tcp, tls and redis checks. Socket and ssl errors are translated here
into TargetUnreachable with the reason an operator needs: DNS failure, refused, unreachable,
TLS error. Time limits come from the caller (the check runner's timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

from opsbook.errors import CheckUnavailable, ResourceExhausted, TargetUnreachable, is_shortage
from opsbook.results import Phase


@dataclass
class Timings:
    """Seconds spent in each phase, like curl's -w timings."""

    dns: float = 0.0
    connect: float = 0.0
    tls: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    address: str  # ip:port actually connected to
    timings: Timings

    async def close(self) -> None:
        self.writer.close()
        # The peer may have gone first; there is nothing to tell anyone.
        with contextlib.suppress(OSError, ssl.SSLError):
            await self.writer.wait_closed()

    def ssl_object(self) -> ssl.SSLObject | None:
        obj = self.writer.get_extra_info("ssl_object")
        return obj if isinstance(obj, ssl.SSLObject) else None


def tls_context(*, verify: bool, ca_file: Path | None = None) -> ssl.SSLContext:
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise CheckUnavailable(f"cannot load CA file {ca_file}: {exc}") from None


def out_of_descriptors() -> bool:
    """Whether this process cannot open one more file now (for libraries that lose errno)."""
    try:
        fd = os.open(os.devnull, os.O_RDONLY)
    except OSError as exc:
        return is_shortage(exc)
    os.close(fd)
    return False


def _format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def resolve(host: str, port: int, phase: Phase) -> list[tuple[str, int]]:
    try:
        return [(str(ipaddress.ip_address(host)), port)]  # an address needs no lookup
    except ValueError:
        pass
    phase.at(f"resolving {host}")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetUnreachable(f"DNS failure: cannot resolve {host} ({exc.strerror})") from None
    seen: list[tuple[str, int]] = []
    for *_, sockaddr in infos:
        address = (str(sockaddr[0]), int(sockaddr[1]))
        if address not in seen:
            seen.append(address)
    return seen


async def open_connection(
    host: str,
    port: int,
    phase: Phase,
    *,
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> Connection:
    """Connect to the first address of ``host`` that answers; TLS handshake if asked."""
    timings = Timings()
    start = time.monotonic()
    addresses = await resolve(host, port, phase)
    timings.dns = time.monotonic() - start
    last_error: OSError | None = None
    for ip, ip_port in addresses:
        where = _format_address(ip, ip_port)
        phase.at(f"connecting to {where}")
        start = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection(ip, ip_port)
        except OSError as exc:
            if is_shortage(exc):
                raise ResourceExhausted(f"opsbook: {exc.strerror or exc}") from None
            last_error = exc
            continue
        timings.connect = time.monotonic() - start
        conn = Connection(reader, writer, where, timings)
        if tls is not None:
            phase.at(f"in the TLS handshake with {where}")
            start = time.monotonic()
            try:
                await writer.start_tls(tls, server_hostname=server_hostname or host)
            except ssl.SSLCertVerificationError as exc:
                await conn.close()
                raise TargetUnreachable(f"TLS error: {_verify_reason(exc)}") from None
            except (ssl.SSLError, ConnectionError) as exc:
                await conn.close()
                raise TargetUnreachable(f"TLS error: {_ssl_reason(exc)}") from None
            timings.tls = time.monotonic() - start
        return conn
    raise TargetUnreachable(_connect_reason(last_error, _format_address(host, port)))


def _connect_reason(exc: OSError | None, where: str) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused ({where})"
    if exc is None:
        return f"no address to connect to ({where})"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot connect to {where}: {reason[0].lower()}{reason[1:]}"


def _verify_reason(exc: ssl.SSLCertVerificationError) -> str:
    detail = exc.verify_message or exc.reason or str(exc)
    return f"certificate verify failed: {detail}"


def _ssl_reason(exc: Exception) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc.strerror or exc).replace("_", " ").lower()
    return str(exc) or type(exc).__name__
