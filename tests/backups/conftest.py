"""A database with known contents, age keys, repositories (a directory, moto's S3), and an
opsbook.yaml tying them together; every test gets its own."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from pyrage import x25519

from tests.conftest import CliResult
from tests.support.servers import PostgresServer, S3Server

Cli = Callable[..., CliResult]

DATA = """
CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL,
                     created_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00',
                     updated_at timestamptz, shipped date);
INSERT INTO orders (sku, updated_at, shipped)
  SELECT md5(g::text), '2026-11-01 12:00:00+00'::timestamptz + g * interval '1 second',
         DATE '2026-11-01' + (g % 20)
  FROM generate_series(1, 20000) g;
CREATE INDEX orders_sku ON orders (sku);
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id int PRIMARY KEY, order_id bigint REFERENCES orders,
                               total numeric);
INSERT INTO billing.invoices SELECT g, g, g * 1.5 FROM generate_series(1, 500) g;
CREATE TABLE empty_table (id int);
"""


@dataclass
class Env:
    root: Path
    server: PostgresServer
    database: str
    identity: Path
    recipient: str
    config: Path

    @property
    def dsn(self) -> str:
        return self.server.dsn(db=self.database)

    def sql(self, statement: str, db: str | None = None) -> list[tuple[object, ...]]:
        with psycopg.connect(self.server.dsn(db=db or self.database), autocommit=True) as conn:
            cur = conn.execute(statement)  # type: ignore[call-overload]
            return cur.fetchall() if cur.description else []

    def write(self, backups: str, extra: str = "") -> Path:
        text = f"store: sqlite:///{self.root / 'ops.db'}\n{textwrap.dedent(extra)}\nbackups:\n"
        text += textwrap.indent(textwrap.dedent(backups).strip("\n"), "  ") + "\n"
        self.config.write_text(text)
        return self.config

    def standard(
        self, *, repos: dict[str, str] | None = None, settings: dict[str, str] | None = None,
        source: dict[str, str] | None = None, encryption: str | None = None,
    ) -> Path:  # fmt: skip
        """One postgres source `db`; values are YAML flow text, one key per entry."""
        repos = repos or {"local": f"{{type: filesystem, path: {self.root / 'repo'}}}"}
        lines = ["repositories:"] + [f"  {k}: {v}" for k, v in repos.items()]
        lines.append(f"encryption: {encryption or '{recipients: [' + self.recipient + ']}'}")
        lines += [f"{k}: {v}" for k, v in (settings or {}).items()]
        lines += ["sources:", "  db:", "    type: postgres", f"    dsn: {self.dsn}"]
        lines += [f"    {k}: {v}" for k, v in (source or {}).items()]
        return self.write("\n".join(lines))


@pytest.fixture
def env(pg: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    name = f"bk_{uuid.uuid4().hex[:10]}"
    pg.psql(f"CREATE DATABASE {name}")
    pg.psql(DATA, db=name)
    identity = x25519.Identity.generate()
    key = tmp_path / "key.txt"
    key.write_text(f"# test key\n{identity}\n")
    monkeypatch.delenv("OPSBOOK_AGE_IDENTITY", raising=False)
    monkeypatch.setenv("OPSBOOK_USER", "dba")
    yield Env(tmp_path, pg, name, key, str(identity.to_public()), tmp_path / "opsbook.yaml")
    leftovers = f"SELECT datname FROM pg_database WHERE datname LIKE '{name}%'"  # noqa: S608
    for row in pg.psql(leftovers).splitlines():
        pg.psql(f'DROP DATABASE IF EXISTS "{row}" WITH (FORCE)')


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ops(cli: Cli, env: Env) -> Cli:
    """The CLI, pointed at the test's opsbook.yaml."""

    def run(*args: str, **kwargs: object) -> CliResult:
        return cli("-c", str(env.config), *args, **kwargs)

    return run
