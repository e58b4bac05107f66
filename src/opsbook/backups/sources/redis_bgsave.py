"""Redis, ``method: bgsave``: ask Redis to save, wait for that save, read the file it wrote.

For servers where SYNC is renamed away or refused (hardened configs, some proxies) and the
RDB file is on this machine. The file is opened once the save has finished; Redis replaces
it by rename on its next save, so the open file stays the snapshot asked for.
"""

from __future__ import annotations

import time
from pathlib import Path

from opsbook.backups.sources.base import Captured, Emit
from opsbook.backups.sources.redis import _command, _connect, _Lines, _text
from opsbook.clients.resp import RedisAddress, parse_info
from opsbook.config.backups import RedisSource
from opsbook.errors import BackupError
from opsbook.secrets import mask_url

SAVE_TIMEOUT = 3600.0
POLL = 0.1

Reply = str | int | list["Reply"] | None


def _reply(lines: _Lines) -> Reply:
    head = lines.line()
    kind, rest = head[:1], head[1:]
    if kind == b"+":
        return rest.decode(errors="replace")
    if kind == b"-":
        raise BackupError(f"Redis: {_text(head)}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data: bytes = lines.file.read(size + 2)
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        return [_reply(lines) for _ in range(max(int(rest), 0))]
    raise BackupError(f"Redis: unexpected reply {_text(head)[:80]}")


class _Session:
    def __init__(self, config: RedisSource) -> None:
        address = RedisAddress.from_url(config.url)
        self.label = mask_url(config.url)
        try:
            self.sock = _connect(address)
        except OSError as exc:
            raise BackupError(f"cannot connect to {self.label}: {exc.strerror or exc}") from None
        self.lines = _Lines(self.sock)
        if address.password:
            user = (address.username,) if address.username else ()
            self.call("AUTH", *user, address.password)

    def call(self, *args: str) -> Reply:
        try:
            self.sock.sendall(_command(*args))
            return _reply(self.lines)
        except OSError as exc:
            raise BackupError(f"{self.label}: {exc.strerror or exc}") from None
        except BackupError as exc:
            raise BackupError(f"{self.label}: {args[0]}: {exc}".replace("Redis: ", "")) from None

    def info(self, section: str) -> dict[str, str]:
        return parse_info(str(self.call("INFO", section)))

    def close(self) -> None:
        self.lines.file.close()  # a socket's file keeps it open past sock.close()
        self.sock.close()


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
    return Path(str(directory[1])) / str(name[1])


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
