"""Each situation the runbook's SQL gets wrong or misses, built on a real PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg
import pytest

from opsbook.postgres.activity import activity
from opsbook.postgres.bloat import bloat
from opsbook.postgres.health import health
from opsbook.postgres.indexes import indexes
from opsbook.postgres.limits import DEFAULT, Limit
from opsbook.postgres.statements import columns, slow_queries
from opsbook.status import Status

from .conftest import Database


def test_a_blocked_session_names_its_blocker_and_idle_in_transaction_is_listed(
    database: Database,
) -> None:
    database.sql("CREATE TABLE accounts (id int PRIMARY KEY, balance int)",
                 "INSERT INTO accounts VALUES (1, 100)")  # fmt: skip
    holder = database.connect()
    holder.execute("BEGIN")
    holder.execute("UPDATE accounts SET balance = 90 WHERE id = 1")  # holds the row lock
    holder_pid = holder.info.backend_pid
    waiter = database.connect()

    def wait_for_the_row() -> None:
        with contextlib.suppress(psycopg.Error):  # cancelled at the end of the test
            waiter.execute("UPDATE accounts SET balance = 80 WHERE id = 1")

    blocked = threading.Thread(target=wait_for_the_row, daemon=True)
    blocked.start()
    try:
        time.sleep(0.5)
        with database.connect() as conn:
            report = activity(conn, "test", limits=DEFAULT.with_(query_time=Limit(0.1)))
        [row] = report.sections["blocked"]
        assert row["blocked_pid"] == waiter.info.backend_pid
        assert row["blocking_pid"] == holder_pid
        assert row["blocking_state"] == "idle in transaction"
        assert "UPDATE accounts SET balance = 80" in row["blocked_query"]
        idle = [r["pid"] for r in report.sections["idle_in_transaction"]]
        assert holder_pid in idle
        assert report.status is Status.WARNING
        assert "1 blocked (by pid" in report.summary
        assert report.facts["usable"] == 37  # 40 max_connections minus 3 reserved
    finally:
        holder.execute("ROLLBACK")
        blocked.join(5)
        holder.close()
        waiter.close()


def _scan(database: Database, sql: str) -> None:
    """Run a query on its own connection, closed after: its statistics are flushed."""
    with database.connect() as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute(sql)  # type: ignore[call-overload]


def _flushed(database: Database) -> None:
    with database.connect() as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
    time.sleep(0.2)


def test_unused_indexes_are_told_apart_by_schema_and_enforcing_ones_never_listed(
    database: Database,
) -> None:
    database.sql(
        "CREATE SCHEMA a", "CREATE SCHEMA b",
        "CREATE TABLE a.orders (id int, ref text UNIQUE, v int)",
        "CREATE TABLE b.orders (id int, ref text UNIQUE, v int)",
        "CREATE INDEX by_v ON a.orders (v)", "CREATE INDEX by_v ON b.orders (v)",
        "INSERT INTO a.orders SELECT g, g::text, g FROM generate_series(1, 1000) g",
        "INSERT INTO b.orders SELECT g, g::text, g FROM generate_series(1, 1000) g",
        "ANALYZE a.orders", "ANALYZE b.orders",
    )  # fmt: skip
    _scan(database, "SELECT * FROM a.orders WHERE v = 5")
    _flushed(database)
    with database.connect() as conn:
        report = indexes(conn, "test")
    unused = {(r["schema"], r["index"]) for r in report.sections["unused"]}
    assert ("b", "by_v") in unused
    assert ("a", "by_v") not in unused  # used: same name, other schema
    assert not any(name.endswith("_ref_key") for _, name in unused)  # unique: never "unused"
    assert "Scan counts are since" in report.notes[0]


def test_duplicate_redundant_and_invalid_indexes(database: Database) -> None:
    database.sql(
        "CREATE TABLE items (id int, sku text, qty int)",
        "INSERT INTO items SELECT g, 'sku' || (g % 10), g FROM generate_series(1, 1000) g",
        "CREATE INDEX items_sku ON items (sku)", "CREATE INDEX items_sku_again ON items (sku)",
        "CREATE INDEX items_sku_qty ON items (sku, qty)",
    )  # fmt: skip
    with pytest.raises(psycopg.errors.UniqueViolation):  # a failed concurrent build
        database.sql("CREATE UNIQUE INDEX CONCURRENTLY items_sku_unique ON items (sku)")
    with database.connect() as conn:
        report = indexes(conn, "test")
    [dup] = report.sections["duplicates"]
    assert dup["indexes"] == ["items_sku", "items_sku_again"]
    redundant = {(r["index"], r["covered_by"]) for r in report.sections["redundant"]}
    assert ("items_sku", "items_sku_qty") in redundant
    assert [r["index"] for r in report.sections["invalid"]] == ["items_sku_unique"]
    assert report.status is Status.WARNING
    assert "1 invalid index (public.items_sku_unique)" in report.summary


def test_many_dead_tuples_are_flagged_with_autovacuum_due(database: Database) -> None:
    for statement in (  # one connection each, so their statistics arrive in order
        "CREATE TABLE events (id int, payload text) WITH (autovacuum_enabled = false)",
        "INSERT INTO events SELECT g, repeat('x', 100) FROM generate_series(1, 40000) g",
        "ANALYZE events",
        "DELETE FROM events WHERE id % 4 <> 0",
    ):
        database.sql(statement)
    _flushed(database)
    with database.connect() as conn:
        report = bloat(conn, "test")
    events = next(t for t in report.sections["tables"] if t["table"] == "events")
    assert events["dead_tuples"] == 30000
    assert events["dead_pct"] == 75.0
    assert events["autovacuum_due"] is True
    assert report.status is Status.WARNING
    assert "public.events: 75.0%" in report.summary
    assert any("deduplication" in n for n in report.notes)


def test_exact_bloat_uses_pgstattuple_when_installed(database: Database) -> None:
    database.sql(
        "CREATE EXTENSION pgstattuple",
        "CREATE TABLE t (id int, v text)",
        "INSERT INTO t SELECT g, 'v' FROM generate_series(1, 5000) g",
        "CREATE INDEX t_v ON t (v)", "ANALYZE t",
    )  # fmt: skip
    with database.connect() as conn:
        report = bloat(conn, "test", exact=True)
    t = next(r for r in report.sections["tables"] if r["table"] == "t")
    assert "exact_dead_pct" in t
    index = next(r for r in report.sections["indexes"] if r["index"] == "t_v")
    assert index["exact_leaf_density_pct"] > 0


def test_an_int4_column_fed_by_a_bigint_sequence_near_2_31(database: Database) -> None:
    database.sql(
        "CREATE TABLE tickets (id int4, note text)",
        "CREATE SEQUENCE tickets_id_seq AS bigint OWNED BY tickets.id",
        "ALTER TABLE tickets ALTER COLUMN id SET DEFAULT nextval('tickets_id_seq')",
        "SELECT setval('tickets_id_seq', 2000000000)",
    )  # fmt: skip
    with database.connect() as conn:
        report = health(conn, "test")
    [seq] = [s for s in report.sections["sequences"] if s["sequence"] == "tickets_id_seq"]
    assert seq["limit"] == 2147483647  # the int4 column, not the sequence's bigint maximum
    assert seq["limited_by"] == "column"
    assert seq["used_pct"] == pytest.approx(93.13, abs=0.01)
    assert report.status is Status.CRITICAL
    assert "limited by integer column public.tickets.id" in report.summary


def test_health_reports_wraparound_and_what_holds_the_horizon(database: Database) -> None:
    holder = database.connect()
    holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    holder.execute("SELECT 1")
    try:
        with database.connect() as conn:
            report = health(conn, "test")
        assert report.sections["wraparound"]
        assert holder.info.backend_pid in [
            r["pid"] for r in report.sections["horizon_transactions"]
        ]
        assert report.facts["database"]["cache_hit_pct"] is not None
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("version", ["1.7", None])
def test_slow_queries_follow_the_installed_extension_version(
    database: Database, version: str | None
) -> None:
    create = "CREATE EXTENSION pg_stat_statements" + (f" VERSION '{version}'" if version else "")
    database.sql(create, "CREATE TABLE q (id int)", "SELECT count(*) FROM q",
                 "SELECT count(*) FROM q")  # fmt: skip
    with database.connect() as conn:
        report = slow_queries(conn, "test", by="calls", limit=20)
    installed = report.facts["extension_version"]
    assert installed == (version or installed)
    assert report.status is Status.OK
    assert any("FROM q" in r["query"] for r in report.sections["queries"])
    expected = columns(tuple(int(p) for p in installed.split(".")))
    assert expected["total"] == ("total_time" if version == "1.7" else "total_exec_time")
    assert expected["total"] in report.notes[0]


def test_slow_queries_leave_opsbooks_own_statements_out_unless_asked(database: Database) -> None:
    from opsbook.clients import postgres as pg

    database.sql("CREATE EXTENSION pg_stat_statements", "CREATE TABLE orders (id int)",
                 "SELECT count(*) FROM orders")  # fmt: skip
    ours = pg.connect(database.dsn)  # how every check and report of opsbook connects
    try:
        for _ in range(50):  # a check every 30 s for 25 minutes
            ours.execute("SELECT count(*) AS n FROM pg_stat_activity").fetchall()
    finally:
        ours.close()
    with database.connect() as conn:
        app_only = slow_queries(conn, "test", by="calls", limit=50)
        everyone = slow_queries(conn, "test", by="calls", limit=50, own=True)
    texts = [r["query"] for r in app_only.sections["queries"]]
    assert any("FROM orders" in t for t in texts)
    assert not any("pg_stat_activity" in t for t in texts)
    top = everyone.sections["queries"][0]  # by calls: opsbook's 50
    assert top["query"].startswith(pg.TAG) and "pg_stat_activity" in top["query"]


def test_slow_queries_without_the_extension_say_what_to_do(database: Database) -> None:
    with database.connect() as conn:
        report = slow_queries(conn, "test")
    assert report.status is Status.UNKNOWN
    assert f"run CREATE EXTENSION pg_stat_statements; in database {database.name}" in report.summary
