"""Fixtures: real servers owned by the suite, and ways to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsbook.cli import main
from tests.support import certs
from tests.support.servers import HttpApp, PostgresServer, RedisServer

pytest_plugins = ["tests.support.store"]  # store_url (both backends), engine, clock

APP_PASSWORD = "app-pw-S3cret-xyz"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[Path]:
    """One initdb per session; clusters are copies of it (seconds saved per cluster)."""
    server = PostgresServer.create()
    yield server.data
    server.destroy()


@pytest.fixture(scope="session")
def pg(pg_template: Path) -> Iterator[PostgresServer]:
    server = PostgresServer.create(pg_template)
    server.start()
    server.psql(f"CREATE ROLE app LOGIN PASSWORD '{APP_PASSWORD}'")
    server.psql("CREATE DATABASE app OWNER app")
    yield server
    server.destroy()


@pytest.fixture
def pg_fresh(pg_template: Path) -> Iterator[PostgresServer]:
    """A cluster of the test's own, free to stop or fill with connections."""
    server = PostgresServer.create(pg_template, max_connections=10)
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def redis_fresh() -> Iterator[RedisServer]:
    server = RedisServer(password="redis-pw-S3cret")
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def app() -> Iterator[HttpApp]:
    server = HttpApp().start()
    yield server
    server.stop()


@dataclass(frozen=True)
class TlsApp:
    server: HttpApp
    ca_file: Path
    chain_file: Path


@pytest.fixture(scope="session")
def tls_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsApp]:
    directory = tmp_path_factory.mktemp("tls")
    chain, key, ca = certs.server_files(directory, days=20, intermediate_days=12)
    server = HttpApp(certfile=chain, keyfile=key).start()
    yield TlsApp(server, ca, chain)
    server.stop()


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


Write = Callable[[str], Path]


@pytest.fixture
def write_config(tmp_path: Path) -> Write:
    def write(text: str) -> Path:
        path = tmp_path / "opsbook.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., CliResult]:
    """Run ``opsbook ARGS`` in this process; returns exit code and captured output."""
    monkeypatch.chdir(tmp_path)
    for var in ("OPSBOOK_CONFIG", "DATABASE_URL", "REDIS_URL", "OPSBOOK_HEALTH_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_opsbook(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run ``python -m opsbook`` as a separate process, the way users and cron do."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPSBOOK_CONFIG", "DATABASE_URL", "REDIS_URL", "OPSBOOK_HEALTH_URL")
    }
    base["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "opsbook", *args],
        env={**base, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip
