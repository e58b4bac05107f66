"""The connection of a check that reads PostgreSQL (or PgBouncer's console): a target that
does not answer is TargetUnreachable; an error inside the block is a DatabaseError for the
check to word (CheckUnavailable: what failed); the connection is closed either way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opsbook.errors import DatabaseError, TargetUnreachable

if TYPE_CHECKING:
    from opsbook.clients.postgres import Conn


@contextmanager
def session(
    dsn: str,
    timeout: float,
    *,
    statement_timeout: float | None = None,
    read_only: bool = False,
    tag: bool = True,
) -> Iterator[Conn]:
    from opsbook.clients import postgres as pg  # psycopg only when such a check runs

    try:
        conn = pg.connect(dsn, timeout=timeout, application="opsbook-check",
                          statement_timeout=statement_timeout, read_only=read_only,
                          tag=tag)  # fmt: skip
    except DatabaseError as exc:
        raise TargetUnreachable(exc.reason) from exc
    try:
        with pg.translated(dsn=dsn):
            yield conn
    finally:
        conn.close()
