"""The database a command is about: a `postgres` check's DSN, or --dsn."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opsbook.clients import postgres as pg
from opsbook.clients.postgres import Conn
from opsbook.config.checks import PgdiagCheck, PostgresCheck
from opsbook.config.model import Config
from opsbook.errors import UsageError
from opsbook.secrets import mask_dsn

__all__ = ["Conn", "Privileges", "Target", "connect", "privileges", "target"]


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


@contextmanager
def connect(where: Target, *, timeout: int = 10) -> Iterator[Conn]:
    with pg.session(where.dsn, label=where.label, timeout=timeout, application="opsbook-db") as c:
        yield c


@dataclass(frozen=True)
class Privileges:
    """What the connected role may read: a note about pg_monitor is for those without it."""

    superuser: bool
    all_stats: bool  # pg_read_all_stats (in pg_monitor): other sessions' queries


def privileges(conn: Conn) -> Privileges:
    row = conn.execute(
        "SELECT rolsuper AS superuser, "
        "rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS all_stats "
        "FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    if row is None:
        return Privileges(False, False)
    return Privileges(bool(row["superuser"]), bool(row["all_stats"]))
