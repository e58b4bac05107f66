"""Connecting to the database a command is about: a `postgres` check's DSN, or --dsn."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from opsbook.config.checks import PgdiagCheck, PostgresCheck
from opsbook.config.model import Config
from opsbook.errors import OpsbookError, UsageError
from opsbook.secrets import mask_dsn

Conn = psycopg.Connection[dict[str, Any]]


class DatabaseError(OpsbookError):
    """The database refused or failed; the message is PostgreSQL's first line."""


@dataclass(frozen=True)
class Target:
    dsn: str
    label: str  # masked, printable


def target(config: Config, check: str | None, dsn: str | None) -> Target:
    if dsn:
        return Target(dsn, mask_dsn(dsn))
    postgres = {
        n: c.dsn for n, c in config.checks.items() if isinstance(c, PostgresCheck | PgdiagCheck)
    }
    if check is not None:
        chosen = postgres.get(check)
        if chosen is None:
            known = ", ".join(postgres) or "none"
            raise UsageError(f"no postgres check named {check!r} (postgres checks: {known})")
        return Target(chosen, mask_dsn(chosen))
    if len(set(postgres.values())) == 1:  # one database, however many checks watch it
        only = next(iter(postgres.values()))
        return Target(only, mask_dsn(only))
    if not postgres:
        raise UsageError(
            "which database? give --dsn postgresql://… or --check NAME of a "
            "postgres check in opsbook.yaml"
        )
    raise UsageError(f"several postgres checks ({', '.join(postgres)}); choose one with --check")


def reason(exc: psycopg.Error) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text.removeprefix("connection failed: ")


@contextmanager
def connect(where: Target, *, timeout: int = 10) -> Iterator[Conn]:
    try:
        conn = psycopg.connect(
            where.dsn,
            connect_timeout=timeout,
            autocommit=True,
            application_name="opsbook-db",
            row_factory=dict_row,
        )
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to {where.label}: {mask_dsn(reason(exc))}") from None
    try:
        yield conn
    except psycopg.errors.InsufficientPrivilege as exc:
        raise DatabaseError(f"permission denied: {reason(exc)}") from None
    except psycopg.Error as exc:
        raise DatabaseError(f"{where.label}: {mask_dsn(reason(exc))}") from None
    finally:
        conn.close()


def server_version(conn: Conn) -> int:
    return int(conn.info.server_version)
