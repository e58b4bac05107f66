"""`opsbook db` from the command line and the `pgdiag` check: exit codes, target choice,
summaries, errors as one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult
from tests.support.servers import closed_port

from .conftest import Database

Cli = Callable[..., CliResult]
Write = Callable[[str], Path]


def _near_exhaustion(database: Database) -> None:
    database.sql(
        "CREATE TABLE tickets (id int4, note text)",
        "CREATE SEQUENCE tickets_id_seq AS bigint OWNED BY tickets.id",
        "ALTER TABLE tickets ALTER COLUMN id SET DEFAULT nextval('tickets_id_seq')",
        "SELECT setval('tickets_id_seq', 2000000000)",
    )


def test_a_pgdiag_check_reports_the_health_summary_in_opsbook_check(
    cli: Cli, write_config: Write, database: Database
) -> None:
    _near_exhaustion(database)
    write_config(f"""
        checks:
          database-health:
            type: pgdiag
            dsn: {database.dsn}
            report: health
    """)
    result = cli("check", "-f", "json")
    assert result.code == 2, result.out + result.err
    [check] = json.loads(result.out)["checks"]
    assert check["status"] == "CRITICAL"
    assert "tickets_id_seq 93.13% used" in check["message"]
    assert "limited by integer column public.tickets.id" in check["message"]
    assert "pg-super-Secr3t" not in result.out


def test_report_exit_code_is_its_status_and_the_target_comes_from_the_config(
    cli: Cli, write_config: Write, database: Database
) -> None:
    write_config(f"""
        checks:
          db:
            type: postgres
            dsn: {database.dsn}
          db-indexes:
            type: pgdiag
            dsn: {database.dsn}
            report: indexes
    """)
    clean = cli("db", "indexes")  # two checks, one database: no need to choose
    assert clean.code == 0, clean.err
    assert "no unused, duplicate or invalid indexes" in clean.out
    database.sql(
        "CREATE TABLE t (a int)", "CREATE INDEX t_a1 ON t (a)", "CREATE INDEX t_a2 ON t (a)"
    )
    dup = cli("db", "indexes", "--check", "db-indexes")
    assert dup.code == 1
    assert "1 set of duplicate indexes" in dup.out
    unknown = cli("db", "health", "--check", "nope")
    assert unknown.code == 3
    assert unknown.err.strip() == (
        "opsbook: no postgres check named 'nope' (postgres checks: db, db-indexes)"
    )


def test_an_unreachable_database_is_one_line_with_the_password_masked(cli: Cli) -> None:
    dsn = f"postgresql://app:hunter22@127.0.0.1:{closed_port()}/x"
    refused = cli("db", "health", "--dsn", dsn)
    assert refused.code == 1
    assert refused.err.startswith("opsbook: cannot connect to postgresql://app:***@127.0.0.1")
    assert len(refused.err.strip().splitlines()) == 1
    assert "hunter22" not in refused.out + refused.err
