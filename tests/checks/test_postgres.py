"""postgres against a private PostgreSQL cluster the suite starts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import psycopg

from opsbook.status import Status
from tests.conftest import APP_PASSWORD
from tests.support.servers import PostgresServer, closed_port, silent_port

from .helpers import run


@contextmanager
def holding(server: PostgresServer, count: int) -> Iterator[None]:
    """Keep ``count`` real client connections open."""
    with ExitStack() as stack:
        for _ in range(count):
            stack.enter_context(psycopg.connect(server.dsn()))
        yield


def test_a_reachable_server_is_ok_with_version_role_and_connections(pg: PostgresServer) -> None:
    result = run({"type": "postgres", "dsn": pg.dsn("app", APP_PASSWORD, "app")})
    assert result.status is Status.OK
    assert result.message.startswith("PostgreSQL 1")
    assert " primary, " in result.message
    assert result.details["role"] == "primary"
    # 40 max_connections minus 3 superuser_reserved_connections
    assert "/37 connections" in result.message
    assert result.unit.value == "%"


def test_connections_in_use_warn_then_go_critical(pg_fresh: PostgresServer) -> None:
    # pg_fresh: max_connections=10, 3 reserved, so 7 are available to clients.
    spec = {"type": "postgres", "dsn": pg_fresh.dsn(), "warning": "50%", "critical": "80%"}
    assert run(spec).status is Status.OK
    with holding(pg_fresh, 3):  # 3 held + the check's own = 4/7 = 57%
        warn = run(spec)
    assert warn.status is Status.WARNING
    assert "4/7 connections (57.1%)" in warn.message
    with holding(pg_fresh, 5):  # 6/7 = 86%
        crit = run(spec)
    assert crit.status is Status.CRITICAL


def test_expected_role_mismatch_is_critical(pg: PostgresServer) -> None:
    result = run({"type": "postgres", "dsn": pg.dsn(), "role": "replica"})
    assert result.status is Status.CRITICAL
    assert "expected replica" in result.message


def test_wrong_password_is_auth_failed_and_never_printed(pg: PostgresServer) -> None:
    result = run({"type": "postgres", "dsn": pg.dsn("app", "not-the-pw-XYZ", "app")})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("auth failed")
    assert "not-the-pw-XYZ" not in result.message
    assert "not-the-pw-XYZ" not in result.target
    assert ":***@" in result.target


def test_a_server_stopped_mid_suite_is_critical(pg_fresh: PostgresServer) -> None:
    spec = {"type": "postgres", "dsn": pg_fresh.dsn()}
    assert run(spec).status is Status.OK
    pg_fresh.stop()
    result = run(spec)
    assert result.status is Status.CRITICAL
    assert result.message.startswith("connection refused")
    pg_fresh.start()
    assert run(spec).status is Status.OK


def test_a_port_that_never_answers_is_bounded_by_the_timeout() -> None:
    with silent_port() as port:
        spec = {"type": "postgres", "dsn": f"postgresql://u:pw@127.0.0.1:{port}/x", "timeout": "1s"}
        result = run(spec)
    assert result.status is Status.CRITICAL
    assert "timed out" in result.message
    assert result.duration < 3


def test_nothing_listening_is_refused() -> None:
    result = run({"type": "postgres", "dsn": f"postgresql://u@127.0.0.1:{closed_port()}/x"})
    assert result.status is Status.CRITICAL
    assert "connection refused" in result.message


def test_keyword_dsn_passwords_are_masked(pg: PostgresServer) -> None:
    dsn = f"host=127.0.0.1 port={pg.port} user=app password=wrong-KW-secret dbname=app"
    result = run({"type": "postgres", "dsn": dsn})
    assert result.status is Status.CRITICAL
    assert "wrong-KW-secret" not in result.message + result.target
    assert "password=***" in result.target
