"""`opsbook db` maintenance and the CLI, against a real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

from .conftest import Database

Cli = Callable[..., CliResult]


def test_reindex_invalid_rebuilds_a_failed_concurrent_build(ops: Cli, database: Database) -> None:
    fill = "INSERT INTO items SELECT g, 'sku' || (g % 10) FROM generate_series(1, 500) g"
    database.sql("CREATE TABLE items (id int, sku text)", fill)
    with pytest.raises(Exception, match="could not create unique index"):
        database.sql("CREATE UNIQUE INDEX CONCURRENTLY items_sku ON items (sku)")
    plan = json.loads(ops("db", "reindex", "--invalid", "--dry-run", "--dsn", database.dsn,
                          "-f", "json").out)  # fmt: skip
    stmt = 'REINDEX INDEX CONCURRENTLY "public"."items_sku"'
    assert plan["plan"] == [{"object": "public.items_sku", "why": "invalid", "statement": stmt}]
    database.sql("DELETE FROM items WHERE id > 10")  # the duplicates are gone
    result = ops("db", "reindex", "--invalid", "--dsn", database.dsn)
    assert result.code == 0, result.err
    assert "1 of 1 done" in result.out
    report = json.loads(ops("db", "indexes", "--dsn", database.dsn, "-f", "json").out)
    assert report["invalid"] == []
    log = json.loads(ops("db", "maintenance-log", "-f", "json").out)
    assert log[0]["statement"] == 'REINDEX INDEX CONCURRENTLY "public"."items_sku"'
    assert log[0]["ok"] is True and log[0]["actor"] == "dba"
    assert "***" in log[0]["target"] and "pg-super-Secr3t" not in log[0]["target"]


def test_a_held_lock_times_out_instead_of_queueing_behind_it(ops: Cli, database: Database) -> None:
    database.sql("CREATE TABLE busy (id int)", "CREATE INDEX busy_id ON busy (id)")
    holder = database.connect()
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE busy IN SHARE UPDATE EXCLUSIVE MODE")
    try:
        result = ops("db", "reindex", "--index", "busy_id", "--lock-timeout", "1s",
                     "--dsn", database.dsn)  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 1
    assert "canceling statement due to lock timeout" in result.out
    assert "some maintenance steps failed" in result.err
    report = json.loads(ops("db", "indexes", "--dsn", database.dsn, "-f", "json").out)
    assert report["invalid"] == []  # nothing half-built left behind
    log = json.loads(ops("db", "maintenance-log", "-f", "json").out)
    assert log[0]["ok"] is False


def test_vacuum_quotes_names_and_is_recorded(ops: Cli, database: Database) -> None:
    weird = 'odd "name"; DROP TABLE keep'
    database.sql(
        "CREATE TABLE keep (id int)",
        f'CREATE TABLE "{weird.replace(chr(34), chr(34) * 2)}" (id int)',
    )
    quoted = '"' + weird.replace('"', '""') + '"'
    result = ops("db", "vacuum", "--analyze", "--table", quoted, "--dsn", database.dsn)
    assert result.code == 0, result.err
    assert 'VACUUM (ANALYZE) "public"."odd ""name""; DROP TABLE keep"' in result.out
    with database.connect() as conn:
        assert conn.execute("SELECT to_regclass('keep') IS NOT NULL AS kept").fetchone()["kept"]  # type: ignore[index]
    missing = ops("db", "vacuum", "--table", "no_such_table", "--dsn", database.dsn)
    assert missing.code == 3
    assert "no table 'no_such_table'" in missing.err


def test_a_pg_monitor_role_can_diagnose_but_not_maintain(ops: Cli, database: Database) -> None:
    database.sql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'monitor') THEN "
        "CREATE ROLE monitor LOGIN PASSWORD 'monitor-pw-123'; END IF; END $$",
        "GRANT pg_monitor TO monitor",
        "CREATE TABLE owned (id int)",
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
    )  # fmt: skip
    dsn = f"postgresql://monitor:monitor-pw-123@127.0.0.1:{database.server.port}/{database.name}"
    for command in ("activity", "indexes", "health", "bloat", "slow-queries"):
        result = ops("db", command, "--dsn", dsn, "-f", "json")
        assert result.code == 0, (command, result.err)
        assert json.loads(result.out)["status"] in {"OK", "WARNING"}, command
    denied = ops("db", "vacuum", "--table", "owned", "--dsn", dsn)
    assert denied.code == 3
    assert "maintenance needs the table's owner, the database's owner, a superuser" in denied.err
    assert "monitor-pw-123" not in denied.err


def test_errors_are_one_line_and_hide_the_password(database: Database, tmp_path: Path) -> None:
    bad = f"postgresql://postgres:Wr0ng-pw-XYZ@127.0.0.1:{database.server.port}/{database.name}"
    proc = subprocess.run([sys.executable, "-m", "opsbook", "db", "health", "--dsn", bad],
                          capture_output=True, text=True, cwd=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("opsbook: cannot connect to postgresql://postgres:***@")
    assert "password authentication failed" in line
    assert "Wr0ng-pw-XYZ" not in proc.stderr


def test_the_database_comes_from_a_postgres_check(
    ops: Cli, database: Database, write_config: Callable[[str], Path]
) -> None:
    path = write_config(f"checks:\n  db:\n    type: postgres\n    dsn: {database.dsn}\n"
                        "  other:\n    type: postgres\n    dsn: postgresql://x@h/y\n")  # fmt: skip
    assert ops("db", "health", "-c", str(path), "--check", "db", "-f", "json").code == 0
    several = ops("db", "health", "-c", str(path))
    assert several.code == 3 and "several postgres checks (db, other)" in several.err


def test_tables_say_what_json_says_and_notes_fit_the_role(
    ops: Cli, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    database.sql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nostats') THEN "
        "CREATE ROLE nostats LOGIN PASSWORD 'nostats-pw-123'; END IF; END $$",
        "CREATE TABLE orders (id int, customer int)",
        "CREATE INDEX orders_a ON orders (customer)",
        "CREATE UNIQUE INDEX orders_b ON orders (customer)",
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
        "SELECT o.id, o.customer, count(*) OVER (PARTITION BY o.customer) AS per_customer "
        "FROM orders AS o WHERE o.customer > 100 AND o.id < 200000 ORDER BY o.customer, o.id",
    )  # fmt: skip
    monkeypatch.setenv("COLUMNS", "120")
    health = ops("db", "health", "--dsn", database.dsn).out
    assert f"database {database.name}: size " in health and "deadlocks 0, temp files 0" in health
    assert "role: primary" in health
    assert "pg_monitor" not in health  # a superuser needs no advice about pg_monitor
    assert "pg_monitor" not in ops("db", "activity", "--dsn", database.dsn).out
    other = f"postgresql://nostats:nostats-pw-123@127.0.0.1:{database.server.port}/{database.name}"
    assert "grant it pg_monitor" in ops("db", "activity", "--dsn", other).out
    indexes = ops("db", "indexes", "--dsn", database.dsn).out
    assert "orders_a, orders_b (unique)" in indexes and "False" not in indexes
    slow = ops("db", "slow-queries", "--dsn", database.dsn, "--all", "--limit", "100").out
    lines = slow.splitlines()
    assert max(len(line) for line in lines) <= 120  # the terminal's width
    query_line = next(line for line in lines if "SELECT o.id, o.customer" in line)
    # the query column gets a readable share of it, not 20 characters
    assert len(query_line.split("SELECT o.id", 1)[1]) >= 30
