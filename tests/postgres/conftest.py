"""A database of the test's own on the suite's PostgreSQL (pg_stat_statements preloaded)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg.rows import dict_row

from opsbook.postgres.connect import Conn
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
