"""Reading opsbook's own store from a check (backup and job runs): opened for the read and
closed after it; a store that cannot be read makes the check UNKNOWN, not its target bad."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from opsbook.errors import CheckUnavailable, OpsbookError

if TYPE_CHECKING:
    from sqlalchemy import Engine

T = TypeVar("T")


def from_store(url: str | None, read: Callable[[Engine], T]) -> T:
    from opsbook.store.open import open_store

    try:
        store = open_store(url)
        try:
            return read(store.engine)
        finally:
            store.engine.dispose()
    except OpsbookError as exc:
        raise CheckUnavailable(str(exc)) from None
