"""Redis: an RDB snapshot fetched over the replication protocol, as ``redis-cli --rdb`` does.

The server forks, writes a point-in-time RDB and sends it as a bulk reply (``$<length>``, or
``$EOF:<40-byte mark>`` when it streams diskless); nothing is needed on the Redis host and
nothing is staged here. ``REPLCONF rdb-only 1`` (Redis 7+) keeps the server from following
the snapshot with the replication stream; older servers ignore the error and the connection
is closed as soon as the RDB has arrived.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

from opsbook.backups.sources.base import Captured, Emit
from opsbook.clients.resp import RedisAddress, parse_info
from opsbook.config.backups import RedisSource
from opsbook.errors import BackupError
from opsbook.secrets import mask_url

TIMEOUT = 60.0
MARK_LENGTH = 40


def _command(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Lines:
    def __init__(self, sock: socket.socket) -> None:
        self.file: Any = sock.makefile("rb", buffering=1 << 16)

    def line(self) -> bytes:
        data: bytes = self.file.readline(1 << 16)
        if not data:
            raise BackupError("Redis closed the connection before sending the snapshot")
        return data.rstrip(b"\r\n")


class _Bulk:
    """The RDB payload as a readable stream, length-delimited or ended by the EOF mark."""

    def __init__(self, lines: _Lines, length: int | None, mark: bytes | None) -> None:
        self.file: Any = lines.file
        self.left = length
        self.mark = mark
        self.tail = b""
        self.done = False

    def read(self, size: int = -1) -> bytes:
        if self.done:
            return b""
        size = size if size and size > 0 else 1 << 20
        if self.left is not None:
            data: bytes = self.file.read(min(size, self.left))
            if not data:
                raise BackupError("Redis closed the connection in the middle of the snapshot")
            self.left -= len(data)
            self.done = self.left == 0
            return bytes(data)
        assert self.mark is not None
        chunk: bytes = self.file.read1(size)
        if not chunk:
            raise BackupError("Redis closed the connection in the middle of the snapshot")
        data = self.tail + chunk
        if data.endswith(self.mark):
            self.done = True
            return data[: -len(self.mark)]
        # Hold back what could be the start of the mark.
        keep = min(len(data), MARK_LENGTH)
        self.tail = data[-keep:]
        return data[:-keep]

    def readable(self) -> bool:
        return True


def dump(config: RedisSource, emit: Emit) -> Captured:
    address = RedisAddress.from_url(config.url)
    label = mask_url(config.url)
    try:
        sock = _connect(address)
    except OSError as exc:
        raise BackupError(f"cannot connect to {label}: {exc.strerror or exc}") from None
    lines = _Lines(sock)
    try:
        if address.password:
            args = ("AUTH", address.username, address.password) if address.username else (
                "AUTH", address.password)  # fmt: skip
            sock.sendall(_command(*[a for a in args if a is not None]))
            reply = lines.line()
            if not reply.startswith(b"+"):
                raise BackupError(f"{label}: authentication failed: {_text(reply)}")
        sock.sendall(_command("INFO", "server"))
        version = _info_version(lines)
        sock.sendall(_command("REPLCONF", "rdb-only", "1"))
        lines.line()  # +OK, or -ERR on Redis before 7: either way carry on
        sock.sendall(_command("SYNC"))
        header = lines.line()
        while header == b"":  # keep-alive newlines while the server forks and saves
            header = lines.line()
        if header.startswith(b"-"):
            raise BackupError(f"{label}: SYNC refused: {_text(header)}")
        if not header.startswith(b"$"):
            raise BackupError(f"{label}: unexpected reply to SYNC: {_text(header)[:80]}")
        if header.startswith(b"$EOF:"):
            bulk = _Bulk(lines, None, header[5:])
        else:
            bulk = _Bulk(lines, int(header[1:]), None)
        emit("rdb", "dump.rdb.zst.age", "rdb", bulk)  # type: ignore[arg-type]
    except OSError as exc:
        raise BackupError(f"{label}: {exc.strerror or exc}") from None
    finally:
        lines.file.close()  # a socket's file keeps it open past sock.close()
        sock.close()
    return Captured(target=label, server_version=version, tool_version="SYNC (as redis-cli --rdb)")


def _connect(address: RedisAddress) -> Any:
    if address.socket_path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(address.socket_path)
        return sock
    sock = socket.create_connection((address.host, address.port), timeout=TIMEOUT)
    if address.tls:
        return ssl.create_default_context().wrap_socket(sock, server_hostname=address.host)
    return sock


def _info_version(lines: _Lines) -> str | None:
    header = lines.line()
    if not header.startswith(b"$"):
        return None
    body = lines.file.read(int(header[1:]) + 2).decode(errors="replace")
    return parse_info(body).get("redis_version")


def _text(reply: bytes) -> str:
    return reply.decode(errors="replace").lstrip("-+").strip()
