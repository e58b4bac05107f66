"""The pgbouncer check against Debian's PgBouncer in front of the suite's PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from opsbook.status import Status
from tests.support.pgbouncer import PgBouncer
from tests.support.servers import PostgresServer

from .helpers import run


@pytest.fixture
def bouncer(pg: PostgresServer) -> Iterator[PgBouncer]:
    server = PgBouncer(pg, pool_size=2)
    server.start()
    yield server
    server.destroy()


def test_a_full_pool_with_clients_waiting_goes_critical_then_recovers(
    bouncer: PgBouncer,
) -> None:
    spec = {"type": "pgbouncer", "dsn": bouncer.admin_dsn(), "wait_warning": "300ms"}
    held = [psycopg.connect(bouncer.app_dsn()) for _ in range(2)]
    for conn in held:
        conn.execute("SELECT 1")  # in a transaction: transaction pooling keeps its server
    half = run(spec)
    assert half.value == 100 and half.status is Status.CRITICAL, half.message
    assert "app/postgres 2 of 2 in use (100%)" in half.message
    waiter = psycopg.connect(bouncer.app_dsn(), autocommit=True)
    worker = threading.Thread(target=lambda: waiter.execute("SELECT 1"))
    worker.start()
    time.sleep(1.2)
    waiting = run(spec)
    by_name = {m.name: m.value for m in waiting.metrics}
    assert by_name["app_postgres_waiting"] == 1
    assert (by_name["app_postgres_maxwait"] or 0) >= 1.0
    assert "1 waiting up to" in waiting.message
    for conn in held:
        conn.rollback()
        conn.close()
    worker.join(10)
    waiter.close()
    calm = run(spec)
    assert calm.status is Status.OK and calm.value == 0, calm.message
    assert {"app_queries", "app_query_time", "app_wait_time"} <= {m.name for m in calm.metrics}


def test_a_stopped_pgbouncer_is_critical(bouncer: PgBouncer) -> None:
    bouncer.stop()
    result = run({"type": "pgbouncer", "dsn": bouncer.admin_dsn()})
    assert result.status is Status.CRITICAL and "stats-Secr3t" not in result.message


def test_a_dsn_to_a_pooled_database_says_to_use_the_admin_console(bouncer: PgBouncer) -> None:
    result = run({"type": "pgbouncer", "dsn": bouncer.app_dsn()})
    assert result.status is Status.UNKNOWN
    assert "expected PgBouncer's admin console" in result.message, result.message


def test_an_unknown_database_is_named(bouncer: PgBouncer) -> None:
    result = run({"type": "pgbouncer", "dsn": bouncer.admin_dsn(), "databases": ["shop"]})
    assert result.status is Status.UNKNOWN and "no pool for database 'shop'" in result.message
