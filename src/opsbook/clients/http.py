"""A one-request HTTP/1.1 probe over a fresh connection, built on h11.

Why not httpx (which opsbook uses for webhooks): a health probe wants what curl -w gives,
per-phase timings (DNS, connect, TLS, first byte) on a new connection every time, no pool,
no retries, no redirect following unless asked; and ``opsbook check`` must start fast
(httpx costs ~140 ms to import on the 2-core reference machine, h11 ~15 ms; see bench/).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import h11

from opsbook import __version__
from opsbook.clients.net import Timings, open_connection, tls_context
from opsbook.errors import TargetUnreachable
from opsbook.results import Phase

MAX_BODY = 1024 * 1024  # enough for any health payload; the rest is read and dropped
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class HttpResponse:
    url: str  # the URL that answered (after redirects, if followed)
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    http_version: str
    timings: Timings
    total: float


async def request(
    url: str,
    phase: Phase,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    verify: bool = True,
    ca_file: Path | None = None,
    follow_redirects: bool = False,
) -> HttpResponse:
    start = time.monotonic()
    for _ in range(MAX_REDIRECTS + 1):
        response = await _once(url, phase, method, headers or {}, body, verify, ca_file)
        location = dict(response.headers).get("location")
        if not (follow_redirects and 300 <= response.status < 400 and location):
            break
        url = urljoin(url, location)
        if response.status in (301, 302, 303):
            method, body = ("GET", None) if method != "HEAD" else (method, None)
    else:
        raise TargetUnreachable(f"more than {MAX_REDIRECTS} redirects, last to {url}")
    return HttpResponse(
        response.url,
        response.status,
        response.reason,
        response.headers,
        response.body,
        response.http_version,
        response.timings,
        time.monotonic() - start,
    )


async def _once(
    url: str,
    phase: Phase,
    method: str,
    headers: Mapping[str, str],
    body: bytes | None,
    verify: bool,
    ca_file: Path | None,
) -> HttpResponse:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    ctx = tls_context(verify=verify, ca_file=ca_file) if secure else None
    start = time.monotonic()
    conn = await open_connection(host, port, phase, tls=ctx)
    try:
        default_port = port == (443 if secure else 80)
        wire_headers = [
            ("Host", host if default_port else f"{host}:{port}"),
            ("User-Agent", f"opsbook/{__version__}"),
            ("Accept", "*/*"),
            ("Connection", "close"),
        ]
        names = {k.lower() for k in headers}
        wire_headers = [(k, v) for k, v in wire_headers if k.lower() not in names]
        wire_headers += list(headers.items())
        if body is not None:
            wire_headers.append(("Content-Length", str(len(body))))
        h11conn = h11.Connection(our_role=h11.CLIENT)
        phase.at(f"for a response from {conn.address}")
        sent = h11conn.send(h11.Request(method=method, target=target, headers=wire_headers))
        if body:
            sent = (sent or b"") + (h11conn.send(h11.Data(data=body)) or b"")
        sent = (sent or b"") + (h11conn.send(h11.EndOfMessage()) or b"")
        conn.writer.write(sent)
        await conn.writer.drain()
        return await _read_response(url, conn.reader, h11conn, conn.timings, start, phase)
    except h11.ProtocolError as exc:
        raise TargetUnreachable(f"invalid HTTP response from {conn.address}: {exc}") from None
    except ConnectionError as exc:
        raise TargetUnreachable(
            f"connection to {conn.address} lost before a complete response ({exc.strerror or exc})"
        ) from None
    finally:
        await conn.close()


async def _read_response(
    url: str,
    reader: asyncio.StreamReader,
    h11conn: h11.Connection,
    timings: Timings,
    start: float,
    phase: Phase,
) -> HttpResponse:
    response: h11.Response | None = None
    chunks: list[bytes] = []
    size = 0
    while True:
        event = h11conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            if data and "first_byte" not in timings.extra:
                timings.extra["first_byte"] = time.monotonic() - start
            h11conn.receive_data(data)
        elif isinstance(event, h11.Response):
            response = event
            phase.at("reading the response body")
        elif isinstance(event, h11.Data):
            if size < MAX_BODY:
                chunks.append(bytes(event.data[: MAX_BODY - size]))
            size += len(event.data)
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    if response is None:
        raise TargetUnreachable("connection closed before any HTTP response")
    return HttpResponse(
        url=url,
        status=response.status_code,
        reason=response.reason.decode("latin-1"),
        headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers),
        body=b"".join(chunks),
        http_version=response.http_version.decode(),
        timings=timings,
        total=time.monotonic() - start,
    )
