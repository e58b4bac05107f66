"""What a DBA found `opsbook db` getting wrong against check_postgres and PgHero, each case
built on the suite's PostgreSQL and checked against ground truth computed another way
(VACUUM VERBOSE, pgstattuple/pgstatindex, the catalog)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest

from opsbook.checks.pgdiag import collect as pgdiag
from opsbook.config.checks import PgdiagCheck, PgReport
from opsbook.postgres.activity import activity
from opsbook.postgres.health import health
from opsbook.postgres.limits import DEFAULT, Limit
from opsbook.status import Status

from .conftest import Database


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
