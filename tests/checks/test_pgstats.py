"""pgstats on the suite's PostgreSQL: a real deadlock, a statement made slower between two
runs, statement timeouts counted from the server's own log."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from opsbook.checks import counters
from opsbook.postgres import counters as pg_counters
from opsbook.status import Status
from tests.support.servers import PostgresServer

from .helpers import config_of, run


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    counters.forget()
    pg_counters.forget()
    yield
    counters.forget()
    pg_counters.forget()


def deadlock(pg: PostgresServer) -> None:
    """Two sessions lock two rows in opposite order: the server kills one of them."""
    pg.psql("DROP TABLE IF EXISTS crossed; CREATE TABLE crossed (id int PRIMARY KEY, n int); "
            "INSERT INTO crossed VALUES (1, 0), (2, 0)")  # fmt: skip
    first, second = (psycopg.connect(pg.dsn()) for _ in range(2))
    first.execute("UPDATE crossed SET n = 1 WHERE id = 1")
    second.execute("UPDATE crossed SET n = 1 WHERE id = 2")
    failures: list[str] = []

    def cross(conn: psycopg.Connection[object], row: int) -> None:
        try:
            conn.execute("UPDATE crossed SET n = 2 WHERE id = %s", (row,))
            conn.commit()
        except psycopg.errors.DeadlockDetected as exc:
            failures.append(str(exc))
            conn.rollback()

    threads = [threading.Thread(target=cross, args=(first, 2)),
               threading.Thread(target=cross, args=(second, 1))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    first.close()
    second.close()
    assert len(failures) == 1 and "deadlock detected" in failures[0]


def stats_flushed(pg: PostgresServer, expect: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if int(pg.psql("SELECT sum(deadlocks) FROM pg_stat_database")) >= expect:
            return
        time.sleep(0.2)
    raise AssertionError("the deadlock never reached pg_stat_database")


def test_a_deadlock_between_two_runs_is_a_warning_naming_the_database(pg: PostgresServer) -> None:
    spec = {"type": "pgstats", "dsn": pg.dsn(), "sample": "0.5s"}
    config = config_of({"db-stats": spec})
    assert config.checks["db-stats"].pending_for == 0  # events fire at once
    quiet = run(spec, name="db-stats")
    assert quiet.status is Status.OK and "no deadlocks" in quiet.message, quiet.message
    seen = int(pg.psql("SELECT sum(deadlocks) FROM pg_stat_database"))
    deadlock(pg)
    stats_flushed(pg, seen + 1)
    time.sleep(0.6)  # at least `sample` since the previous run: its reading is the baseline
    after = run(spec, name="db-stats")
    assert after.status is Status.WARNING, after.message
    assert after.value == 1 and "1 deadlock (postgres 1)" in after.message
    names = {m.name for m in after.metrics}
    assert {"deadlocks", "transactions", "rollback_share", "temp_bytes"} <= names


def test_a_statement_made_slower_shows_in_its_mean_time(pg: PostgresServer) -> None:
    pg.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    spec = {"type": "pgstats", "dsn": pg.dsn(), "sample": "0.2s", "statements": 5}
    marker = f"slow_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:

        def calls(seconds: float) -> None:
            for _ in range(5):
                conn.execute(f"SELECT pg_sleep({seconds}) AS {marker}")

        run(spec, name="timing")
        calls(0.01)
        time.sleep(0.3)
        fast = run(spec, name="timing")
        calls(0.08)
        time.sleep(0.3)
        slow = run(spec, name="timing")

    def mean(result: object) -> float:
        found = [s for s in result.details["statements"] if marker in s["query"]]  # type: ignore[attr-defined]
        assert found, result.details  # type: ignore[attr-defined]
        assert found[0]["calls"] == 5
        return float(found[0]["mean_seconds"])

    assert 0.009 < mean(fast) < 0.05
    assert 0.075 < mean(slow) < 0.2
    key = next(m.name for m in slow.metrics if m.name.endswith("_mean") and
               abs((m.value or 0) - mean(slow)) < 1e-6)  # fmt: skip
    assert key.startswith("query_") and key in {m.name for m in fast.metrics}  # a stable name


def test_statement_timeouts_are_counted_from_the_server_log(pg: PostgresServer) -> None:
    spec = {"type": "pgstats", "dsn": pg.dsn(), "sample": "0.2s", "statements": 0,
            "log": str(pg.base / "log"), "timeouts_warning": 1}  # fmt: skip
    run(spec, name="timeouts")
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute("SET statement_timeout = '50ms'")
        for _ in range(2):
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("SELECT pg_sleep(1)")
    time.sleep(0.5)
    result = run(spec, name="timeouts")
    counted = {m.name: m.value for m in result.metrics}
    assert counted["statement_timeouts"] == 2 and counted["lock_timeouts"] == 0
    assert result.status is Status.WARNING and "2 statement timeouts" in result.message


def test_an_unreadable_log_is_said_not_hidden(pg: PostgresServer) -> None:
    result = run({"type": "pgstats", "dsn": pg.dsn(), "sample": "0.2s",
                  "log": "/nonexistent/postgresql.log"})  # fmt: skip
    assert result.status is Status.OK
    assert "timeouts not counted (log /nonexistent/postgresql.log: No such file" in result.message


def test_a_stopped_server_is_critical(pg_fresh: PostgresServer) -> None:
    pg_fresh.stop()
    result = run({"type": "pgstats", "dsn": pg_fresh.dsn(), "sample": "0.2s"})
    assert result.status is Status.CRITICAL and "connect" in result.message.lower()


def test_data_growth_shows_in_database_and_table_sizes(pg: PostgresServer) -> None:
    pg.psql("DROP TABLE IF EXISTS growing; CREATE TABLE growing (id int, body text)")
    spec = {"type": "pgstats", "dsn": pg.dsn(), "sample": "0.2s", "statements": 0}
    before = {m.name: m.value for m in run(spec, name="growth").metrics}
    pg.psql("INSERT INTO growing SELECT i, repeat('x', 200) FROM generate_series(1, 20000) i")
    time.sleep(0.3)
    after = run(spec, name="growth")
    sizes = {m.name: m.value for m in after.metrics}
    grown = (sizes["table_public.growing_bytes"] or 0) - (
        before.get("table_public.growing_bytes") or 0
    )
    assert grown > 20000 * 200  # the rows written, at least
    assert (sizes["db_postgres_bytes"] or 0) - (before["db_postgres_bytes"] or 0) > 20000 * 200
    assert "databases " in after.message and "(+" in after.message
