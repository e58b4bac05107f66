"""Opening the store a command needs: URL from env/config/default, schema brought up to date."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from opsbook.store.engine import describe, make_engine, store_url
from opsbook.store.migrate import ensure_schema


@dataclass(frozen=True)
class Store:
    engine: Engine
    url: str

    @property
    def described(self) -> str:
        return describe(self.url)


def open_store(configured: str | None) -> Store:
    url = store_url(configured)
    engine = make_engine(url)
    ensure_schema(engine, describe=describe(url))
    return Store(engine, url)
