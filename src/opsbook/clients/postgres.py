"""PostgreSQL through psycopg 3: the one place opsbook connects to a database it watches,
diagnoses or backs up, and the one place psycopg's errors become ours.

Everything here raises ``DatabaseError`` whose message is libpq's first meaningful line with
the usual causes named plainly ("auth failed: …"), and with every secret of the DSN masked.
What such an error means (CRITICAL for a check, a failed backup) is the caller's to say; it
reads ``exc.reason`` and adds its own context. opsbook's own store is not here: it goes
through SQLAlchemy (``store/tx.py``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import conninfo as ci
from psycopg import sql
from psycopg.rows import dict_row

from opsbook.clients.net import out_of_descriptors
from opsbook.errors import DatabaseError, OpsbookError, ResourceExhausted, is_shortage
from opsbook.secrets import Redactor, mask_dsn, secrets_in

Conn = psycopg.Connection[dict[str, Any]]
AsyncConn = psycopg.AsyncConnection[dict[str, Any]]
CONNECT_TIMEOUT = 10
# Every statement opsbook sends starts with this comment, which pg_stat_statements keeps in
# the query text: `opsbook db slow-queries` leaves opsbook's own statements out by it (a
# check every 30 s would otherwise fill the top ten by calls).
TAG = "/* opsbook */ "


def tagged(query: Any) -> Any:
    if isinstance(query, str):
        return TAG + query
    if isinstance(query, bytes):
        return TAG.encode() + query
    if isinstance(query, sql.Composable):
        return sql.SQL(TAG) + query
    return query


class _Cursor(psycopg.Cursor[Any]):
    def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
        return super().execute(tagged(query), params, **kw)

    def executemany(self, query: Any, params_seq: Any, **kw: Any) -> None:
        super().executemany(tagged(query), params_seq, **kw)


class _AsyncCursor(psycopg.AsyncCursor[Any]):
    async def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
        return await super().execute(tagged(query), params, **kw)

    async def executemany(self, query: Any, params_seq: Any, **kw: Any) -> None:
        await super().executemany(tagged(query), params_seq, **kw)


def reason(exc: BaseException, redact: Redactor | None = None) -> str:
    """libpq's first meaningful line, prefixes dropped, the usual causes named, secrets out."""
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # "connection failed: connection to server at "h" (ip), port p failed: FATAL:  ..."
    detail = lines[0].removeprefix("connection failed: ") if lines else type(exc).__name__
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        detail = f"auth failed: {detail}"
    elif "could not translate host name" in low or "name or service not known" in low:
        detail = f"DNS failure: {detail}"
    elif "connection refused" in low:
        detail = f"connection refused: {detail}"
    elif "timeout expired" in low:
        detail = f"timed out connecting: {detail}"
    detail = mask_dsn(detail)
    return redact(detail) if redact is not None else detail


def _error(exc: psycopg.Error, message: str, redact: Redactor, **kind: bool) -> OpsbookError:
    why = reason(exc, redact)
    if is_shortage(exc) or (kind.get("connecting") and out_of_descriptors()):
        # libpq could not make a socket (it sometimes loses the reason): ours, not the server's
        return ResourceExhausted(f"opsbook: {why} (out of file descriptors)")
    return DatabaseError(
        message.format(reason=why),
        reason=why,
        canceled=isinstance(exc, psycopg.errors.QueryCanceled),
        denied=isinstance(exc, psycopg.errors.InsufficientPrivilege),
        sqlstate=exc.sqlstate,
        detail=redact(mask_dsn(exc.diag.message_detail)) if exc.diag.message_detail else None,
        **kind,
    )


def _params(
    dsn: str,
    timeout: float,
    application: str,
    statement_timeout: float | None,
    read_only: bool = False,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "connect_timeout": max(1, math.ceil(timeout)),
        "application_name": application,
        "autocommit": True,
        "row_factory": dict_row,
    }
    options = []
    if statement_timeout is not None:
        options.append(f"-c statement_timeout={int(statement_timeout * 1000)}")
    if read_only:  # every transaction of the session: a write is refused by the server
        options.append("-c default_transaction_read_only=on")
    if options:
        params["options"] = " ".join(options)
    return params


def connect(
    dsn: str,
    *,
    label: str | None = None,
    timeout: float = CONNECT_TIMEOUT,
    application: str = "opsbook",
    statement_timeout: float | None = None,
    read_only: bool = False,
    tag: bool = True,
) -> Conn:
    """An autocommit connection with dict rows; the caller closes it. ``tag=False`` for
    PgBouncer's admin console, which reads a leading comment as part of the command."""
    redact = Redactor(secrets_in(dsn))
    where = label or mask_dsn(dsn)
    try:
        return psycopg.connect(
            dsn,
            cursor_factory=_Cursor if tag else psycopg.Cursor,
            **_params(dsn, timeout, application, statement_timeout, read_only),
        )
    except psycopg.Error as exc:
        raise _error(
            exc, f"cannot connect to {where}: {{reason}}", redact, connecting=True
        ) from None


async def connect_async(
    dsn: str, *, timeout: float = CONNECT_TIMEOUT, application: str = "opsbook"
) -> AsyncConn:
    try:
        return await psycopg.AsyncConnection.connect(
            dsn, cursor_factory=_AsyncCursor, **_params(dsn, timeout, application, None)
        )
    except psycopg.Error as exc:
        redact = Redactor(secrets_in(dsn))
        raise _error(exc, "{reason}", redact, connecting=True) from None


@contextmanager
def translated(label: str | None = None, dsn: str = "") -> Iterator[None]:
    """psycopg errors raised inside become DatabaseError ("label: reason")."""
    try:
        yield
    except psycopg.Error as exc:
        redact = Redactor(secrets_in(dsn))
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            raise _error(exc, "permission denied: {reason}", redact) from None
        raise _error(exc, f"{label}: {{reason}}" if label else "{reason}", redact) from None


@contextmanager
def session(
    dsn: str,
    *,
    label: str | None = None,
    timeout: float = CONNECT_TIMEOUT,
    application: str = "opsbook",
    statement_timeout: float | None = None,
) -> Iterator[Conn]:
    """Connect, translate every error of the block, close."""
    where = label or mask_dsn(dsn)
    conn = connect(
        dsn,
        label=where,
        timeout=timeout,
        application=application,
        statement_timeout=statement_timeout,
    )
    try:
        with translated(where, dsn):
            yield conn
    finally:
        conn.close()


def server_major(conn: Conn) -> int:
    return int(conn.info.server_version) // 10000


# ---------------------------------------------------------------- DSNs for child processes


@dataclass(frozen=True)
class ChildDsn:
    """A DSN split for pg_dump and friends: no password on the command line (``ps`` shows
    argv to every user); it travels in ``PGPASSWORD`` in the child's environment."""

    conninfo: str
    env: dict[str, str]
    label: str  # masked
    redact: Redactor


def for_child(dsn: str, *, dbname: str | None = None) -> ChildDsn:
    try:
        params = ci.conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        why = reason(exc, Redactor(secrets_in(dsn)))
        raise DatabaseError(
            f"invalid connection string {mask_dsn(dsn)}: {why}", reason=why
        ) from None
    password = params.pop("password", None)
    if dbname is not None:
        params["dbname"] = dbname
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    env.setdefault("PGCONNECT_TIMEOUT", str(CONNECT_TIMEOUT))
    conninfo = ci.make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})
    secrets = secrets_in(dsn) + ([str(password)] if password else [])
    return ChildDsn(conninfo, env, mask_dsn(dsn), Redactor(secrets))


def with_database(dsn: str, dbname: str) -> str:
    params = ci.conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return ci.make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


def database_of(dsn: str) -> str | None:
    name = ci.conninfo_to_dict(dsn).get("dbname")
    return None if name is None else str(name)
