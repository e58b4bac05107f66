"""A small Redis (RESP2) client: connect, AUTH, send a command, read the reply.

Why not redis-py: importing it costs ~150 ms on the reference machine, more than the whole
runbook health-check script, for the three commands a check sends (see bench/). Backups will
need a raw protocol stream anyway (an RDB snapshot the way ``redis-cli --rdb`` takes it),
which redis-py does not offer.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from opsbook.clients.net import open_connection, tls_context
from opsbook.errors import RedisReplyError, TargetUnreachable
from opsbook.results import Phase

Reply = bytes | int | list["Reply"] | None


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
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg.encode() if isinstance(arg, str) else arg
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        try:
            self._writer.write(b"".join(out))
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
        line = await self._reader.readline()
        if not line:
            raise TargetUnreachable("connection closed by the Redis server")
        if not line.endswith(b"\r\n"):
            raise TargetUnreachable(f"not a Redis server (unexpected reply {line[:40]!r})")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RedisReplyError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = await self._reader.readexactly(size + 2)
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [await self._read() for _ in range(count)]
        raise TargetUnreachable(f"not a Redis server (unexpected reply {line[:40]!r})")

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


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
