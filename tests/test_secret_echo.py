"""A client library that echoes its input (libpq with a password it cannot decode) never gets
a secret printed, logged or stored: tried on every command that takes a DSN."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_opsbook

SECRET = "S3CRET-pw"
BAD = f"postgresql://app:pa%zz{SECRET}@127.0.0.1:1/app"  # an invalid %-escape in the password
SPACED = f"host=127.0.0.1 port=1 user=app password='it''s {SECRET}' dbname=app"

CONFIG = """
store: sqlite:///ROOT/ops.db
checks:
  db: {type: postgres, dsn: "BAD"}
  diag: {type: pgdiag, dsn: "BAD", report: activity}
backups:
  repositories:
    local: {type: filesystem, path: ROOT/repo}
  encryption: none
  sources:
    db: {type: postgres, dsn: "BAD"}
""".replace("BAD", BAD)

COMMANDS = [
    ["db", "activity", "--dsn", BAD],
    ["db", "health", "--dsn", BAD],
    ["db", "bloat", "--dsn", BAD],
    ["db", "indexes", "--dsn", BAD],
    ["db", "slow-queries", "--dsn", BAD],
    ["db", "vacuum", "--dsn", BAD],
    ["db", "reindex", "--dsn", BAD, "--dry-run"],
    ["db", "activity", "--dsn", SPACED],
    ["db", "activity", "--check", "db"],
    ["check"],
    ["check", "--format", "json"],
    ["check", "--format", "nagios"],
    ["config", "validate"],
    ["backup", "run", "db"],
    ["backup", "run", "db", "--format", "json"],
    ["backup", "restore", "latest", "--to", BAD, "--yes"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_no_command_prints_a_secret_its_library_echoed(tmp_path: Path, args: list[str]) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text(CONFIG.replace("ROOT", str(tmp_path)))
    done = run_opsbook(*args, "--config", str(config), timeout=60)
    assert SECRET not in done.stdout + done.stderr, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    store = tmp_path / "ops.db"
    if store.exists():  # what the store keeps (backup events, maintenance runs) is clean too
        with sqlite3.connect(store) as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                for row in conn.execute(f"SELECT * FROM {table}"):  # noqa: S608
                    assert SECRET not in repr(row), (table, row)


def test_a_failed_backup_of_a_bad_dsn_is_recorded_without_the_secret(tmp_path: Path) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text(CONFIG.replace("ROOT", str(tmp_path)))
    run_opsbook("backup", "run", "db", "--config", str(config))
    with sqlite3.connect(tmp_path / "ops.db") as conn:
        [(ok, detail)] = conn.execute("SELECT ok, detail FROM backup_events").fetchall()
    assert not ok and "invalid connection string" in detail and SECRET not in detail
