"""The sql check: a business figure from a read-only query, on the suite's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsbook.checks import bands
from opsbook.status import Status
from tests.support.servers import PostgresServer

from .helpers import run


@pytest.fixture
def orders(pg: PostgresServer) -> Iterator[str]:
    """A table of its own, holding a known number of orders per plan."""
    pg.psql("DROP TABLE IF EXISTS orders; "
            "CREATE TABLE orders (id serial, plan text, created_at timestamptz DEFAULT now()); "
            "INSERT INTO orders (plan) SELECT CASE WHEN i % 3 = 0 THEN 'pro' ELSE 'free' END "
            "FROM generate_series(1, 30) i")  # fmt: skip
    bands.forget()
    yield "orders"
    pg.psql("DROP TABLE orders")


def test_a_count_that_grows_is_measured_and_judged_both_ways(
    pg: PostgresServer, orders: str
) -> None:
    spec = {"type": "sql", "dsn": pg.dsn(), "query": "SELECT count(*) FROM orders",
            "warning": {"below": 40}, "critical": {"above": 100}}  # fmt: skip
    low = run(spec)
    assert (low.status, low.value) == (Status.WARNING, 30)
    pg.psql("INSERT INTO orders (plan) SELECT 'free' FROM generate_series(1, 20)")
    ok = run(spec)
    assert (ok.status, ok.value, ok.message) == (Status.OK, 50, "50")
    pg.psql("INSERT INTO orders (plan) SELECT 'free' FROM generate_series(1, 51)")
    assert run(spec).status is Status.CRITICAL


def test_rows_of_label_and_value_become_measurements(pg: PostgresServer, orders: str) -> None:
    spec = {"type": "sql", "dsn": pg.dsn(), "warning": 15,
            "query": "SELECT plan, count(*) FROM orders WHERE plan LIKE '%r%' OR true "
                     "GROUP BY plan ORDER BY plan"}  # fmt: skip
    result = run(spec)
    assert {m.name: m.value for m in result.metrics} == {"free": 20, "pro": 10}
    assert result.status is Status.WARNING  # free's 20 is over 15
    assert result.value == 30 and result.message == "free 20; pro 10"


def test_a_query_that_writes_or_stacks_statements_is_refused(
    pg: PostgresServer, orders: str
) -> None:
    base = {"type": "sql", "dsn": pg.dsn(), "warning": 1}
    wrote = run({**base, "query": "DELETE FROM orders RETURNING 1"})
    assert wrote.status is Status.UNKNOWN and "tried to write" in wrote.message
    stacked = run({**base, "query": "SET default_transaction_read_only = off; "
                                    "DELETE FROM orders; SELECT 1"})  # fmt: skip
    assert stacked.status is Status.UNKNOWN and "one statement" in stacked.message
    assert pg.psql("SELECT count(*) FROM orders") == "30"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("SELECT 'many', 1, 2", "returned 3 columns"),
        ("SELECT NULL::int", "is NULL"),
        ("SELECT 'x'", "is str 'x'"),
        ("SELECT 1 FROM generate_series(1, 3)", "returned 3 rows of one column"),
        ("SELECT 1 WHERE false", "returned no rows"),
        ("SELECT * FROM no_such_table", 'relation "no_such_table" does not exist'),
    ],
)
def test_a_query_of_the_wrong_shape_says_what_was_expected(
    pg: PostgresServer, query: str, says: str
) -> None:
    result = run({"type": "sql", "dsn": pg.dsn(), "query": query, "warning": 1})
    assert result.status is Status.UNKNOWN and says in result.message, result.message


def test_a_slow_query_is_cancelled_at_the_timeout(pg: PostgresServer) -> None:
    result = run({"type": "sql", "dsn": pg.dsn(), "query": "SELECT 1 FROM pg_sleep(5)",
                  "warning": 1, "timeout": "1s"})  # fmt: skip
    assert result.status in (Status.UNKNOWN, Status.CRITICAL)
    assert "1 s" in result.message or "timed out" in result.message
    assert result.duration < 4


def test_unusual_values_are_found_once_the_band_is_learnt(pg: PostgresServer, orders: str) -> None:
    spec = {"type": "sql", "dsn": pg.dsn(), "query": "SELECT count(*) FROM orders",
            "unusual": True, "min_history": "0s"}  # fmt: skip
    first = run(spec, name="growth")
    assert first.status is Status.OK and "learning" in first.message
    for _ in range(10):
        run(spec, name="growth")
    pg.psql("INSERT INTO orders (plan) SELECT 'free' FROM generate_series(1, 500)")
    jump = run(spec, name="growth")
    assert jump.status is Status.WARNING and "above the usual" in jump.message, jump.message


def test_a_sql_check_that_cannot_alert_is_a_config_error() -> None:
    from opsbook.config.model import validate

    config, problems = validate({"checks": {"x": {"type": "sql", "dsn": "postgresql://h/db",
                                                  "query": "SELECT 1"}}})  # fmt: skip
    assert config is None and "expected warning, critical or unusual" in str(problems)
