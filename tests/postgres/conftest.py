"""A database of the test's own on the suite's PostgreSQL (pg_stat_statements preloaded)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from opsbook.postgres.connect import Conn
from tests.conftest import CliResult
from tests.support.servers import PostgresServer


@dataclass
class Database:
    server: PostgresServer
    name: str

    @property
    def dsn(self) -> str:
        return self.server.dsn(db=self.name)

    def sql(self, *statements: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[call-overload]

    def connect(self) -> Conn:
        return psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row)


@pytest.fixture
def database(pg: PostgresServer) -> Iterator[Database]:
    name = f"diag_{uuid.uuid4().hex[:10]}"
    pg.psql(f"CREATE DATABASE {name}")
    yield Database(pg, name)
    pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def ops(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """`opsbook …` in this process, with a store of its own for the maintenance log."""
    monkeypatch.setenv("OPSBOOK_STORE", f"sqlite:///{tmp_path / 'ops.db'}")
    monkeypatch.setenv("OPSBOOK_USER", "dba")
    return cli


def role(database: Database, name: str, *grants: str) -> str:
    """A login role (made once per server), granted what is asked; its DSN to this database."""
    password = f"{name}-pw-123"
    make = (  # test-chosen names only
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN "  # noqa: S608
        f"CREATE ROLE {name} LOGIN PASSWORD '{password}'; END IF; END $$"
    )
    database.sql(make, *grants)
    return f"postgresql://{name}:{password}@127.0.0.1:{database.server.port}/{database.name}"
