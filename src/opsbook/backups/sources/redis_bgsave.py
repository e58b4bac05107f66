"""Redis, ``method: bgsave``: ask Redis to save, wait for that save, read the file it wrote.

For servers where SYNC is renamed away or refused (hardened configs, some proxies) and the
RDB file is on this machine. The file is opened once the save has finished; Redis replaces
it by rename on its next save, so the open file stays the snapshot asked for.
"""

from __future__ import annotations

import time
from pathlib import Path

from opsbook.backups.sources.base import Captured, Emit
from opsbook.clients.resp import BlockingRedis, RedisAddress, Reply, parse_info
from opsbook.config.backups import RedisSource
from opsbook.errors import BackupError, RedisReplyError, TargetUnreachable
from opsbook.secrets import mask_url

SAVE_TIMEOUT = 3600.0
SOCKET_TIMEOUT = 60.0
POLL = 0.1


class _Session:
    """A blocking Redis connection whose failures are backup failures, with the server named."""

    def __init__(self, config: RedisSource) -> None:
        self.label = mask_url(config.url)
        try:
            self.redis = BlockingRedis.connect(
                RedisAddress.from_url(config.url), self.label, SOCKET_TIMEOUT
            )
        except TargetUnreachable as exc:
            raise BackupError(str(exc)) from exc

    def call(self, *args: str) -> str | int | list[Reply] | None:
        try:
            reply = self.redis.call(*args)
        except TargetUnreachable as exc:
            raise BackupError(str(exc)) from exc
        except RedisReplyError as exc:
            raise BackupError(f"{self.label}: {args[0]}: {exc}") from exc
        return reply.decode(errors="replace") if isinstance(reply, bytes) else reply

    def info(self, section: str) -> dict[str, str]:
        return parse_info(str(self.call("INFO", section)))

    def close(self) -> None:
        self.redis.close()


def _rdb_file(session: _Session, config: RedisSource) -> Path:
    if config.rdb_path:
        return Path(config.rdb_path)
    try:
        directory = session.call("CONFIG", "GET", "dir")
        name = session.call("CONFIG", "GET", "dbfilename")
    except BackupError as exc:
        raise BackupError(f"{exc}; set rdb_path: to the RDB file's path") from None
    if not (isinstance(directory, list) and isinstance(name, list)) or len(directory) < 2:
        raise BackupError(f"{session.label}: CONFIG GET dir gave no answer; set rdb_path:")
    return Path(_str(directory[1])) / _str(name[1])


def _save(session: _Session) -> None:
    """A BGSAVE of our own, finished and successful (waiting out one already running).

    Finished means: the save counter went up (``rdb_saves``, Redis 7+), or, on older servers,
    LASTSAVE moved or a save was seen in progress and is over. LASTSAVE alone is not enough:
    it counts seconds, and a small save can end in the same second as the one before it.
    """
    deadline = time.monotonic() + SAVE_TIMEOUT

    def waited() -> None:
        if time.monotonic() > deadline:
            raise BackupError(f"{session.label}: no background save finished within an hour")
        time.sleep(POLL)

    while session.info("persistence").get("rdb_bgsave_in_progress") == "1":
        waited()
    before = session.info("persistence")
    last_save = session.call("LASTSAVE")
    session.call("BGSAVE")
    seen_running = False
    started = time.monotonic()
    while True:
        now = session.info("persistence")
        if now.get("rdb_bgsave_in_progress") == "1":
            seen_running = True
        elif "rdb_saves" in before:
            if int(now.get("rdb_saves", 0)) > int(before["rdb_saves"]):
                break
            if now.get("rdb_last_bgsave_status") == "err" and time.monotonic() - started > 1:
                break  # failed without counting: reported below
        else:  # older servers; a save too quick to be seen running is over after 2 s
            quick = time.monotonic() - started > 2
            if seen_running or quick or session.call("LASTSAVE") != last_save:
                break
        waited()
    if now.get("rdb_last_bgsave_status") != "ok":
        raise BackupError(f"{session.label}: BGSAVE failed (see the Redis log)")


def dump(config: RedisSource, emit: Emit) -> Captured:
    session = _Session(config)
    try:
        version = session.info("server").get("redis_version")
        path = _rdb_file(session, config)
        if not path.parent.is_dir():
            raise BackupError(
                f"cannot read {path}: {path.parent} does not exist here; method: bgsave needs "
                "the RDB file on this machine (or use method: sync)"
            )
        _save(session)
        try:
            snapshot = path.open("rb")
        except OSError as exc:
            raise BackupError(
                f"cannot read {path} ({exc.strerror}): method: bgsave needs the RDB file on "
                "this machine and readable (or use method: sync)"
            ) from None
        with snapshot:
            emit("rdb", "dump.rdb.zst.age", "rdb", snapshot)
    finally:
        session.close()
    return Captured(target=session.label, server_version=version, tool_version="BGSAVE + copy",
                    details={"rdb_file": str(path)})  # fmt: skip


def _str(reply: Reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
