"""Choosing and opening the store.

Which database: ``$OPSBOOK_STORE``, else ``store:`` in opsbook.yaml, else a SQLite file in the
user's data directory (``$XDG_DATA_HOME/opsbook/opsbook.db``), created on first use.

SQLite is opened in WAL mode with a busy timeout, and every transaction starts with
``BEGIN IMMEDIATE``: writers queue for the write lock up front instead of failing with
"database is locked" when a read transaction tries to become a write one, which is how the
CLI and the daemon write the same file without losing anything.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from opsbook.errors import StoreError
from opsbook.secrets import mask_dsn

STORE_ENV = "OPSBOOK_STORE"
BUSY_TIMEOUT_S = 30


def data_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/share")
    return Path(base) / "opsbook"


def store_url(configured: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    url = env.get(STORE_ENV) or configured
    if url:
        return url
    return f"sqlite:///{data_dir(env) / 'opsbook.db'}"


def describe(url: str) -> str:
    """The URL as it may be printed."""
    return mask_dsn(url)


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def make_engine(url: str, *, options: str | None = None) -> Engine:
    """``options``: PostgreSQL session settings (``-c name=value``) for every connection."""
    if is_sqlite(url):
        return _sqlite_engine(url)
    if not url.startswith(("postgresql", "postgres")):
        raise StoreError(f"unsupported store {describe(url)}: expected sqlite:/// or postgresql://")
    connect_args = {"options": options} if options else {}
    return create_engine(
        _sqlalchemy_url(url), pool_pre_ping=True, future=True, connect_args=connect_args
    )


def _owner_only(path: str) -> None:
    """Owner only: the store holds incidents, who is on call and how to reach them. SQLite
    gives its -wal and -shm files the main file's mode, so the file is made first.

    Never open and close an existing store file here: POSIX locks belong to the process, and
    closing any descriptor of the file drops every lock this process's SQLite connections
    hold on it, so another process could checkpoint and delete the WAL under them and their
    later writes would be lost (the daemon opens the store again for the backup and job
    checks). Only a file this call creates (O_EXCL) is opened.
    """
    if Path(path).is_symlink():
        raise OSError(errno.ELOOP, "is a symbolic link; give the file itself")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        if Path(path).stat().st_mode & 0o077:  # a store made by an older opsbook
            Path(path).chmod(0o600)
    else:
        os.close(fd)


def _sqlite_engine(url: str) -> Engine:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        directory = Path(path).parent
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            _owner_only(path)
        except OSError as exc:
            raise StoreError(f"cannot create the store {path}: {exc.strerror}") from None
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S}, future=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (see below).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
