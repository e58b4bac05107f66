"""Redis's protocol (RESP2), the one place opsbook speaks it: connect, AUTH, send a command,
read the reply; asynchronously for checks, blocking for backups.

Why not redis-py: importing it costs ~150 ms on the reference machine, more than the whole
runbook health-check script, for the three commands a check sends (see bench/); and backups
need the raw stream (an RDB snapshot the way ``redis-cli --rdb`` takes it), which redis-py
does not offer. One encoder and one parser serve both: the parser is written sans-IO (it asks
for a line or for n bytes), and each transport answers it in a few lines.

Errors: an error reply is ``RedisReplyError``; a refused, dropped or non-Redis connection is
``TargetUnreachable``. Callers add what the failure means to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from opsbook.clients.net import open_connection, tls_context
from opsbook.errors import (
    RedisReplyError,
    ResourceExhausted,
    TargetUnreachable,
    is_shortage,
)
from opsbook.results import Phase

Reply = bytes | int | list["Reply"] | None
Need = int | None  # what the parser wants next: a line (None) or exactly n bytes


@dataclass(frozen=True)
class RedisAddress:
    host: str
    port: int
    socket_path: str | None
    username: str | None
    password: str | None
    db: int
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return cls(
                "",
                0,
                parts.path,
                parts.username and unquote(parts.username),
                parts.password and unquote(parts.password),
                0,
                tls=False,
            )
        path = parts.path.strip("/")
        return cls(
            parts.hostname or "127.0.0.1",
            parts.port or 6379,
            None,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            int(path) if path.isdigit() else 0,
            tls=parts.scheme == "rediss",
        )


class RedisClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, address: RedisAddress, phase: Phase) -> RedisClient:
        if address.socket_path:
            phase.at(f"connecting to {address.socket_path}")
            try:
                reader, writer = await asyncio.open_unix_connection(address.socket_path)
            except OSError as exc:
                if is_shortage(exc):
                    raise ResourceExhausted(f"opsbook: {exc.strerror or exc}") from None
                raise TargetUnreachable(
                    f"cannot connect to {address.socket_path}: {exc.strerror or exc}"
                ) from None
        else:
            ctx = tls_context(verify=True) if address.tls else None
            conn = await open_connection(address.host, address.port, phase, tls=ctx)
            reader, writer = conn.reader, conn.writer
        client = cls(reader, writer)
        if address.password:
            phase.at("authenticating")
            args = [address.username, address.password] if address.username else [address.password]
            try:
                await client.command("AUTH", *args)
            except RedisReplyError as exc:
                await client.close()
                raise TargetUnreachable(f"auth failed: {_first_word_lower(str(exc))}") from None
        return client

    async def command(self, *args: str | bytes) -> Reply:
        try:
            self._writer.write(encode(*args))
            await self._writer.drain()
            return await self._read()
        except asyncio.IncompleteReadError:
            raise TargetUnreachable("connection closed by the Redis server mid-reply") from None
        except ConnectionError as exc:
            # The server died or restarted between our connect and its answer.
            reason = exc.strerror or type(exc).__name__
            raise TargetUnreachable(
                f"connection to the Redis server lost ({reason.lower()})"
            ) from None

    async def _read(self) -> Reply:
        parser = _parse()
        need = next(parser)
        try:
            while True:
                data = await (
                    self._reader.readline() if need is None else self._reader.readexactly(need)
                )
                need = parser.send(data)
        except StopIteration as done:
            reply: Reply = done.value
            return reply

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class BlockingRedis:
    """The same protocol over a blocking socket, for backups (which run in threads).

    ``call`` sends a command and parses its reply; ``line`` and ``file`` give the raw stream
    for replies that are not RESP values (the RDB that follows SYNC).
    """

    def __init__(self, sock: socket.socket, label: str) -> None:
        self.sock = sock
        self.label = label
        self.file: Any = sock.makefile("rb", buffering=1 << 16)

    @classmethod
    def connect(cls, address: RedisAddress, label: str, timeout: float) -> BlockingRedis:
        try:
            if address.socket_path:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(address.socket_path)
            else:
                sock = socket.create_connection((address.host, address.port), timeout=timeout)
                if address.tls:
                    context = ssl.create_default_context()
                    sock = context.wrap_socket(sock, server_hostname=address.host)
        except OSError as exc:
            if is_shortage(exc):
                raise ResourceExhausted(f"opsbook: {exc.strerror or exc}") from None
            raise TargetUnreachable(f"cannot connect to {label}: {exc.strerror or exc}") from None
        client = cls(sock, label)
        if address.password:
            user = (address.username,) if address.username else ()
            try:
                client.call("AUTH", *user, address.password)
            except RedisReplyError as exc:
                client.close()
                raise TargetUnreachable(
                    f"{label}: auth failed: {_first_word_lower(str(exc))}"
                ) from None
        return client

    def send(self, *args: str) -> None:
        try:
            self.sock.sendall(encode(*args))
        except OSError as exc:
            raise TargetUnreachable(f"{self.label}: {exc.strerror or exc}") from None

    def call(self, *args: str) -> Reply:
        self.send(*args)
        parser = _parse()
        need = next(parser)
        try:
            while True:
                need = parser.send(self.line(keep_end=True) if need is None else self._exact(need))
        except StopIteration as done:
            reply: Reply = done.value
            return reply

    def line(self, *, keep_end: bool = False) -> bytes:
        """One line of the raw stream (``\r\n`` stripped unless kept)."""
        try:
            data: bytes = self.file.readline(1 << 16)
        except OSError as exc:
            raise TargetUnreachable(f"{self.label}: {exc.strerror or exc}") from None
        if not data:
            raise TargetUnreachable(f"{self.label}: connection closed by the Redis server")
        return data if keep_end else data.rstrip(b"\r\n")

    def _exact(self, size: int) -> bytes:
        try:
            data: bytes = self.file.read(size)
        except OSError as exc:
            raise TargetUnreachable(f"{self.label}: {exc.strerror or exc}") from None
        if len(data) < size:
            raise TargetUnreachable(f"{self.label}: connection closed by the Redis server")
        return data

    def close(self) -> None:
        self.file.close()  # a socket's file keeps it open past sock.close()
        self.sock.close()


def encode(*args: str | bytes) -> bytes:
    """A command as RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _parse() -> Generator[Need, bytes, Reply]:
    """One reply, sans-IO: yields what it needs next, is sent those bytes, returns the value."""
    line = yield None
    if not line:
        raise TargetUnreachable("connection closed by the Redis server")
    if not line.endswith(b"\r\n"):
        raise TargetUnreachable(f"not a Redis server (unexpected reply {line[:40]!r})")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisReplyError(rest.decode(errors="replace"))
    try:
        number = int(rest)
    except ValueError:
        raise TargetUnreachable(f"not a Redis server (unexpected reply {line[:40]!r})") from None
    if kind == b":":
        return number
    if kind == b"$":
        if number < 0:
            return None
        data = yield number + 2
        return data[:-2]
    if kind == b"*":
        items: list[Reply] = []
        for _ in range(max(number, 0)):
            items.append((yield from _parse()))
        return None if number < 0 else items
    raise TargetUnreachable(f"not a Redis server (unexpected reply {line[:40]!r})")


def _first_word_lower(text: str) -> str:
    return text[0].lower() + text[1:] if text else text


def parse_info(text: str) -> dict[str, str]:
    """INFO's ``key:value`` lines (section headers and blanks skipped)."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, _, value = line.partition(":")
            info[key] = value.strip()
    return info
