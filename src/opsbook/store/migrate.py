"""Bringing a store's schema to the version this opsbook knows, or refusing clearly.

The current revision is read with one query (no Alembic import) so commands on an
up-to-date store start fast. An upgrade runs every pending migration in a single transaction
holding the store's write lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL):
two processes starting on a fresh store migrate it once, and a failure leaves it as it was.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from opsbook.errors import StoreError
from opsbook.store.tx import reason

# Every revision, oldest first. A test checks the last one is Alembic's head.
REVISIONS = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
    "0015",
)
HEAD = REVISIONS[-1]
MIGRATIONS = Path(__file__).parent / "migrations"
_ADVISORY_LOCK_KEY = 0x6F707362  # "opsb"


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine, *, describe: str) -> None:
    """Upgrade the store if it is behind; refuse if it is ahead of this opsbook."""
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the store {describe}: {reason(exc)}") from None
    if revision == HEAD:
        return
    if revision is not None and revision not in REVISIONS:
        raise StoreError(
            f"the store {describe} has schema revision {revision}, newer than this opsbook "
            f"knows ({HEAD}); upgrade opsbook before using it"
        )
    upgrade(engine, describe=describe)


def upgrade(engine: Engine, *, describe: str) -> tuple[str | None, str]:
    """Apply pending migrations; returns (revision before, revision after)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))
            before = current_revision(conn)
            if before is not None and before not in REVISIONS:
                raise StoreError(
                    f"the store {describe} has schema revision {before}, newer than this "
                    f"opsbook knows ({HEAD}); upgrade opsbook before using it"
                )
            cfg = AlembicConfig()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            after = current_revision(conn)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"migrating the store {describe} failed and was rolled back: {reason(exc)}"
        ) from None
    return before, after or HEAD
