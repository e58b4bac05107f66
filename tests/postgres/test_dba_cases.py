"""What a DBA found `opsbook db` getting wrong against check_postgres and PgHero, each case
built on the suite's PostgreSQL and checked against ground truth computed another way
(VACUUM VERBOSE, pgstattuple/pgstatindex, the catalog)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from opsbook.checks.pgdiag import collect as pgdiag
from opsbook.config.checks import PgdiagCheck, PgReport
from opsbook.postgres.activity import activity
from opsbook.postgres.bloat import bloat
from opsbook.postgres.health import health
from opsbook.postgres.limits import DEFAULT, Limit
from opsbook.postgres.statements import slow_queries
from opsbook.status import Status

from .conftest import Database, role


@pytest.fixture
def sessions(database: Database) -> Iterator[list[psycopg.Connection[dict[str, object]]]]:
    opened: list[psycopg.Connection[dict[str, object]]] = []
    yield opened
    for conn in opened:
        conn.close()


def vacuum_verbose(database: Database, table: str) -> str:
    """VACUUM VERBOSE's own report (it comes as INFO notices)."""
    said: list[str] = []
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: said.append(d.message_primary or ""))
        conn.execute(f"VACUUM (VERBOSE) {table}")  # type: ignore[arg-type]
    return "\n".join(said)


def test_an_aborted_idle_transaction_is_listed_not_an_internal_error(
    database: Database, sessions: list[psycopg.Connection[dict[str, object]]]
) -> None:
    aborted = database.connect()
    sessions.append(aborted)
    aborted.execute("BEGIN")
    with pytest.raises(psycopg.errors.DivisionByZero):
        aborted.execute("SELECT 1 / 0")  # the transaction is now "idle in transaction (aborted)"
    with database.connect() as conn:
        state = conn.execute(
            "SELECT state FROM pg_stat_activity WHERE pid = %s", (aborted.info.backend_pid,)
        ).fetchone()
        assert state is not None and state["state"] == "idle in transaction (aborted)"
        report = activity(conn, "test", limits=DEFAULT.with_(idle_in_transaction=Limit(0)))
    [row] = [
        r for r in report.sections["idle_in_transaction"] if r["pid"] == aborted.info.backend_pid
    ]
    assert row["transaction_age"] is not None
    assert report.status is Status.WARNING
    assert "1 idle in transaction (1 aborted)" in report.summary
    check = PgdiagCheck(dsn=database.dsn, report=PgReport.ACTIVITY)
    assert pgdiag(check).status is not Status.UNKNOWN  # the check reports, it does not break


def test_a_writer_idle_in_transaction_is_seen_holding_the_horizon(
    database: Database, sessions: list[psycopg.Connection[dict[str, object]]]
) -> None:
    database.sql("CREATE TABLE events (id int)", "CREATE TABLE log (id int)",
                 "INSERT INTO events SELECT generate_series(1, 5000)")  # fmt: skip
    writer = database.connect()
    sessions.append(writer)
    writer.execute("BEGIN")
    writer.execute("INSERT INTO log VALUES (1)")  # an xid of its own, and no snapshot held
    xid = writer.execute("SELECT pg_current_xact_id()::text AS x").fetchone()
    assert xid is not None
    database.sql("DELETE FROM events")
    said = vacuum_verbose(database, "events")
    kept = re.search(r"(\d+) are dead but not yet removable", said)
    assert kept is not None and int(kept.group(1)) == 5000, said  # ground truth: all 5000 kept
    cutoff = re.search(r"(?:removable cutoff|oldest xmin): (\d+)", said)
    assert cutoff is not None and cutoff.group(1) == xid["x"], said
    with database.connect() as conn:
        quiet = health(conn, "test")  # held for a second: under the default 1 h
        report = health(conn, "test", limits=DEFAULT.with_(transaction_age=Limit(0, 3600)))
    holders = {r["pid"]: r for r in report.sections["horizon_transactions"]}
    assert holders[writer.info.backend_pid]["horizon_xid"] == xid["x"]  # the one VACUUM named
    assert quiet.status is Status.OK, holders
    assert report.status is Status.WARNING, (holders, report.findings)
    assert f"pid {writer.info.backend_pid} " in report.summary
    assert "idle in transaction) has held the xmin horizon" in report.summary


def test_a_sequence_feeding_an_int4_column_by_its_default_is_measured_against_it(
    database: Database,
) -> None:
    database.sql(
        "CREATE SEQUENCE free_seq AS bigint",  # owned by no column
        "CREATE TABLE tickets (id int4 DEFAULT nextval('free_seq'), note text)",
        "SELECT setval('free_seq', 2000000000)",
        "INSERT INTO tickets (note) VALUES ('one')",
    )  # fmt: skip
    with database.connect() as conn:
        truth = conn.execute(
            "SELECT last_value * 100.0 / 2147483647 AS pct FROM pg_sequences "
            "WHERE sequencename = 'free_seq'"
        ).fetchone()
        report = health(conn, "test")
    assert truth is not None
    [row] = [r for r in report.sections["sequences"] if r["sequence"] == "free_seq"]
    assert row["used_pct"] == pytest.approx(float(truth["pct"]), abs=0.01)  # 93.13 %, not 0.0
    assert (row["table"], row["column"], row["limited_by"]) == ("tickets", "id", "column")
    assert report.status is Status.CRITICAL
    assert "sequence public.free_seq 93.13% used (limited by integer column public.tickets.id)" in (
        report.summary
    )


def _bloated(database: Database) -> None:
    """orders: 120,000 rows, 92 % deleted and vacuumed (the space stays), a sparse index."""
    for statement in (  # one connection each, so their statistics arrive in order
        "CREATE EXTENSION IF NOT EXISTS pgstattuple",
        "CREATE TABLE orders (id int, note text) WITH (fillfactor = 100)",
        "INSERT INTO orders SELECT g, repeat('x', 80) FROM generate_series(1, 120000) g",
        "CREATE INDEX orders_id ON orders (id)",
        "CREATE TABLE tiny (id int)", "INSERT INTO tiny SELECT generate_series(1, 200)",
        "CREATE INDEX tiny_id ON tiny (id)", "DELETE FROM tiny WHERE id % 20 <> 0",
        "DELETE FROM orders WHERE id % 25 <> 0",
        "SELECT pg_stat_force_next_flush()",
        "VACUUM ANALYZE orders", "VACUUM ANALYZE tiny",
    ):  # fmt: skip
        database.sql(statement)


def test_a_vacuumed_table_of_free_space_and_a_sparse_index_are_bloated(
    database: Database,
) -> None:
    _bloated(database)
    with database.connect() as conn:
        table_truth = conn.execute(
            "SELECT free_percent + dead_tuple_percent AS wasted FROM pgstattuple('orders')"
        ).fetchone()
        index_truth = conn.execute(
            "SELECT avg_leaf_density, leaf_pages FROM pgstatindex('orders_id')"
        ).fetchone()
        limits = DEFAULT.with_(bloat_wasted=Limit(1024 * 1024))
        estimated = bloat(conn, "test", limits=limits)
        exact = bloat(conn, "test", exact=True, limits=limits)
        default = bloat(conn, "test")  # 100 MB: a few MB of waste is not worth a finding
    assert table_truth is not None and index_truth is not None
    orders = next(t for t in estimated.sections["tables"] if t["table"] == "orders")
    assert orders["dead_tuples"] == 0  # vacuumed: the old check said OK from this alone
    assert orders["estimated_bloat_pct"] == pytest.approx(float(table_truth["wasted"]), abs=8)
    measured = next(t for t in exact.sections["tables"] if t["table"] == "orders")
    assert measured["exact_bloat_pct"] == pytest.approx(float(table_truth["wasted"]), abs=0.5)
    index = next(i for i in exact.sections["indexes"] if i["index"] == "orders_id")
    packed = -(-index_truth["leaf_pages"] * index_truth["avg_leaf_density"] // 90)
    assert index["exact_bloat_bytes"] == (index_truth["leaf_pages"] - packed) * 8192
    assert index["exact_bloat_pct"] > 80
    tiny = next(i for i in exact.sections["indexes"] if i["index"] == "tiny_id")
    assert tiny["exact_bloat_bytes"] == 0  # one leaf page: a rebuild gives nothing back
    for report in (estimated, exact):
        assert report.status is Status.WARNING
        assert "1 bloated table (public.orders: " in report.summary
        assert "1 bloated index (public.orders_id: " in report.summary
    assert default.status is Status.OK


def test_a_table_with_autovacuum_off_is_said_never_to_be_vacuumed(database: Database) -> None:
    database.sql(
        "CREATE TABLE events (id int) WITH (autovacuum_enabled = false)",
        "INSERT INTO events SELECT generate_series(1, 40000)", "ANALYZE events",
    )  # fmt: skip
    database.sql("DELETE FROM events WHERE id % 4 <> 0")
    with database.connect() as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
    with database.connect() as conn:
        report = bloat(conn, "test")
    events = next(t for t in report.sections["tables"] if t["table"] == "events")
    assert (events["autovacuum_due"], events["autovacuum_enabled"]) == (True, False)
    assert (
        "autovacuum is off for public.events: its 30000 dead tuples stay until someone "
        "runs VACUUM" in report.summary
    )


def test_a_pg_monitor_role_gets_no_estimate_and_the_reason_never_another_answer(
    database: Database,
) -> None:
    _bloated(database)
    dsn = role(database, "monitor", "GRANT pg_monitor TO monitor")
    with database.connect() as conn:
        owner = bloat(conn, "test")
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        monitor = bloat(conn, "test")  # type: ignore[arg-type]
    mine = {r["index"]: r for r in owner.sections["indexes"]}
    theirs = {r["index"]: r for r in monitor.sections["indexes"]}
    assert mine["orders_id"]["estimated_bloat_pct"] is not None
    assert theirs["orders_id"]["estimated_bloat_pct"] is None  # not a different number
    assert "cannot read the table's pg_stats rows" in theirs["orders_id"]["no_estimate_why"]
    table = next(t for t in monitor.sections["tables"] if t["table"] == "orders")
    assert table["estimated_bloat_pct"] is None and table["no_estimate_why"] is not None
    assert any("pg_monitor does not grant it" in n for n in monitor.notes)


def test_sizes_are_the_relations_real_sizes_not_stale_relpages(database: Database) -> None:
    database.sql("CREATE TABLE grow (id int)", "CREATE INDEX grow_id ON grow (id)",
                 "INSERT INTO grow SELECT generate_series(1, 50000)")  # fmt: skip
    with database.connect() as conn:
        real = conn.execute(
            "SELECT pg_relation_size('grow_id') AS size, relpages * 8192 AS stale "
            "FROM pg_class WHERE relname = 'grow_id'"
        ).fetchone()
        report = bloat(conn, "test")
    assert real is not None and real["stale"] < real["size"]  # no VACUUM or ANALYZE since
    index = next(i for i in report.sections["indexes"] if i["index"] == "grow_id")
    assert index["size_bytes"] == real["size"]


def test_a_pgdiag_check_alerts_on_its_own_thresholds(
    database: Database, sessions: list[psycopg.Connection[dict[str, object]]]
) -> None:
    from opsbook.config.model import validate

    idle = database.connect()
    sessions.append(idle)
    idle.execute("BEGIN")
    idle.execute("SELECT 1")
    spec = {"type": "pgdiag", "dsn": database.dsn, "report": "activity"}
    made, problems = validate({"checks": {
        "strict": {**spec, "idle_in_transaction": {"warning": "0s", "critical": "1h"}},
        "default": spec,
    }})  # fmt: skip
    assert made is not None, problems
    strict, default = made.checks["strict"], made.checks["default"]
    assert isinstance(strict, PgdiagCheck) and isinstance(default, PgdiagCheck)
    assert pgdiag(strict).status is Status.WARNING  # idle a moment: over its 0 s warning
    assert pgdiag(default).status is Status.OK  # under the default 5 minutes
    _, bad = validate({"checks": {"x": {**spec, "query_time": "5x"}}})
    [problem] = bad
    assert problem.path == ("checks", "x", "query_time")
    assert problem.message.startswith("expected a duration such as")


def test_not_valid_constraints_and_tables_read_by_sequential_scans_are_advised(
    database: Database,
) -> None:
    from opsbook.postgres.indexes import indexes

    for statement in (
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
        "CREATE TABLE customers (id int PRIMARY KEY)",
        "CREATE TABLE orders (id int, customer int, total int)",
        "INSERT INTO customers SELECT generate_series(1, 100)",
        "INSERT INTO orders SELECT g, g % 100 + 1, g FROM generate_series(1, 20000) g",
        "ALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer) "
        "REFERENCES customers (id) NOT VALID",
        "ANALYZE orders",
        *["SELECT total FROM orders WHERE customer = 7"] * 5,
        "SELECT pg_stat_force_next_flush()",
    ):  # fmt: skip
        database.sql(statement)
    with database.connect() as conn:
        truth = conn.execute(
            "SELECT seq_scan, coalesce(idx_scan, 0) AS idx_scan FROM pg_stat_user_tables "
            "WHERE relname = 'orders'"
        ).fetchone()
        report = indexes(conn, "test")
    [constraint] = report.sections["not_valid_constraints"]
    assert (constraint["constraint"], constraint["kind"]) == ("orders_customer", "foreign key")
    assert "VALIDATE CONSTRAINT orders_customer" in report.summary
    [scanned] = report.sections["sequential_scans"]
    assert truth is not None and truth["seq_scan"] >= 5 and truth["idx_scan"] == 0
    assert (scanned["table"], scanned["seq_scan"]) == ("orders", truth["seq_scan"])
    [statement] = [q for q in scanned["queries"] if "WHERE customer = $1" in q["query"]]
    assert statement["calls"] == 5  # the statement responsible, from pg_stat_statements
    assert "read mostly by sequential scans (public.orders: 0% of scans used an index" in (
        report.summary
    )


def test_per_table_wraparound_names_the_table_to_freeze_first(database: Database) -> None:
    database.sql("CREATE TABLE older (id int)")
    for _ in range(30):  # transactions that each take an xid
        database.sql("SELECT pg_current_xact_id()")
    database.sql("CREATE TABLE newer (id int)")
    with database.connect() as conn:
        before = health(conn, "test").sections["table_wraparound"]
        conn.execute("VACUUM (FREEZE) older")
        after = health(conn, "test").sections["table_wraparound"]
        truth = conn.execute(
            "SELECT age(relfrozenxid) AS age FROM pg_class WHERE relname = 'newer'"
        ).fetchone()
    ages = {r["table"]: r["xid_age"] for r in before}
    assert ages["older"] > ages["newer"]
    assert truth is not None and {r["table"]: r["xid_age"] for r in after}["newer"] == truth["age"]
    ranked = [r["table"] for r in after if r["table"] in ("older", "newer")]
    assert ranked[0] == "newer"  # frozen, older is no longer the one to worry about


def test_slow_queries_show_who_spends_the_time(database: Database) -> None:
    dsn = role(database, "reporting")
    database.sql(
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", "SELECT pg_stat_statements_reset()"
    )
    with psycopg.connect(dsn, autocommit=True) as reporting:
        for _ in range(3):
            reporting.execute("SELECT pg_sleep(0.05)")
    with database.connect() as conn:
        report = slow_queries(conn, "test")
    users = {r["user"]: r for r in report.sections["by_user"]}
    assert users["reporting"]["calls"] == 3
    assert users["reporting"]["total_ms"] >= 150
    assert sum(r["share_pct"] for r in report.sections["by_user"]) == pytest.approx(100, abs=0.5)
