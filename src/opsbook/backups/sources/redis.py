"""Redis: an RDB snapshot fetched over the replication protocol, as ``redis-cli --rdb`` does.

The server forks, writes a point-in-time RDB and sends it as a bulk reply (``$<length>``, or
``$EOF:<40-byte mark>`` when it streams diskless); nothing is needed on the Redis host and
nothing is staged here. ``REPLCONF rdb-only 1`` (Redis 7+) keeps the server from following
the snapshot with the replication stream; older servers ignore the error and the connection
is closed as soon as the RDB has arrived.
"""

from __future__ import annotations

import contextlib
from typing import Any

from opsbook.backups.sources.base import Captured, Emit
from opsbook.clients.resp import BlockingRedis, RedisAddress, parse_info
from opsbook.config.backups import RedisSource
from opsbook.errors import BackupError, RedisReplyError, TargetUnreachable
from opsbook.secrets import mask_url

TIMEOUT = 60.0
MARK_LENGTH = 40


class _Bulk:
    """The RDB payload as a readable stream, length-delimited or ended by the EOF mark."""

    def __init__(self, redis: BlockingRedis, length: int | None, mark: bytes | None) -> None:
        self.file: Any = redis.file
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
    label = mask_url(config.url)
    try:
        redis = BlockingRedis.connect(RedisAddress.from_url(config.url), label, TIMEOUT)
    except TargetUnreachable as exc:
        raise BackupError(str(exc)) from exc
    try:
        info = redis.call("INFO", "server")
        text = info.decode(errors="replace") if isinstance(info, bytes) else ""
        version = parse_info(text).get("redis_version")
        # Redis before 7 refuses this and follows the snapshot with the stream; we close first.
        with contextlib.suppress(RedisReplyError):
            redis.call("REPLCONF", "rdb-only", "1")
        redis.send("SYNC")
        header = redis.line()
        while header == b"":  # keep-alive newlines while the server forks and saves
            header = redis.line()
        if header.startswith(b"-"):
            raise BackupError(f"{label}: SYNC refused: {_text(header)}")
        if not header.startswith(b"$"):
            raise BackupError(f"{label}: unexpected reply to SYNC: {_text(header)[:80]}")
        if header.startswith(b"$EOF:"):
            bulk = _Bulk(redis, None, header[5:])
        else:
            bulk = _Bulk(redis, int(header[1:]), None)
        emit("rdb", "dump.rdb.zst.age", "rdb", bulk)  # type: ignore[arg-type]
    except TargetUnreachable as exc:  # its message names the server already
        raise BackupError(str(exc)) from exc
    except RedisReplyError as exc:
        raise BackupError(f"{label}: {exc}") from exc
    except OSError as exc:  # reading the snapshot itself
        raise BackupError(f"{label}: {exc.strerror or exc}") from None
    finally:
        redis.close()
    return Captured(target=label, server_version=version, tool_version="SYNC (as redis-cli --rdb)")


def _text(reply: bytes) -> str:
    return reply.decode(errors="replace").lstrip("-+").strip()
