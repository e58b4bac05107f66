"""A store on both backends and a clock the test controls, for in-process tests of the
domains and the daemon's steps (healthchecks' way: call the step, look at the store)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from opsbook.store.open import open_store
from tests.support.servers import PostgresServer


class FakeClock:
    """Time the test controls, passed in (not patched)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'opsbook.db'}"
        return
    pg: PostgresServer = request.getfixturevalue("pg")
    name = f"store_{uuid.uuid4().hex[:12]}"
    pg.psql(f"CREATE DATABASE {name}")
    yield pg.dsn(db=name)
    pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    store = open_store(store_url)
    yield store.engine
    store.engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
