"""Transactions with database errors translated at the seam.

A store that goes away mid-command (PostgreSQL restarted, disk full under SQLite) becomes a
StoreError with the database's own reason, never a traceback; the transaction is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from opsbook.errors import StoreError


def reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@contextmanager
def begin(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on any error."""
    try:
        with engine.begin() as conn:
            yield conn
    except IntegrityError as exc:
        raise StoreError(f"the store refused the change: {reason(exc)}") from None
    except OperationalError as exc:
        raise StoreError(f"the store failed ({reason(exc)}); nothing was changed") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"store error: {reason(exc)}") from None


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    try:
        with engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the store: {reason(exc)}") from None
