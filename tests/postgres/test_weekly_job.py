"""The weekly database maintenance as a calendar job on a real PostgreSQL: vacuumed, the
invalid index rebuilt, recorded in the maintenance log, and next week's digest says what
changed since this one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

from .conftest import Database

Cli = Callable[..., CliResult]


def test_the_weekly_job_maintains_and_reports_what_changed_since_last_week(
    cli: Cli, database: Database, tmp_path: Path
) -> None:
    fill = "INSERT INTO items SELECT g, 'sku' || (g % 10), 'n' FROM generate_series(1, 2000) g"
    database.sql("CREATE TABLE items (id int, sku text, note text)", fill,
                 "CREATE INDEX items_id ON items (id)")  # fmt: skip
    with pytest.raises(Exception, match="could not create unique index"):
        database.sql("CREATE UNIQUE INDEX CONCURRENTLY items_sku ON items (sku)")
    database.sql("DELETE FROM items WHERE id > 10")  # the duplicates go; the index stays invalid
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"""
store: sqlite:///{tmp_path / "ops.db"}
checks:
  db: {{type: postgres, dsn: "{database.dsn}"}}
jobs:
  weekly:
    action: db-maintenance
    schedule: "0 3 * * 0"
""")
    first = cli("jobs", "run", "weekly", "--as", "dba", "--config", str(config))
    assert first.code in (0, 1), first.out + first.err
    history = json.loads(cli("jobs", "history", "weekly", "-f", "json", "--config",
                             str(config)).out)["runs"]  # fmt: skip
    shown = json.loads(cli("jobs", "show", str(history[0]["id"]), "-f", "json", "--config",
                           str(config)).out)  # fmt: skip
    figures = shown["data"]["figures"]
    assert figures["reindexed"] == 1 and figures["vacuumed"] >= 1 and figures["failed"] == 0
    assert "public.items_id" in figures["unused"]
    assert "first run: nothing to compare with" in shown["data"]["report"]
    log = json.loads(cli("db", "maintenance-log", "-f", "json", "--config", str(config)).out)
    assert 'REINDEX INDEX CONCURRENTLY "public"."items_sku"' in [r["statement"] for r in log]
    assert {r["actor"] for r in log} == {"opsbook jobs: db-maintenance"}
    # a week later: one more index nobody uses
    database.sql("CREATE INDEX items_note ON items (note)")
    second = cli("jobs", "run", "weekly", "--config", str(config))
    assert second.code in (0, 1), second.out + second.err
    latest = json.loads(cli("jobs", "history", "weekly", "-f", "json", "--config",
                            str(config)).out)["runs"][0]  # fmt: skip
    report = json.loads(cli("jobs", "show", str(latest["id"]), "-f", "json", "--config",
                            str(config)).out)["data"]["report"]  # fmt: skip
    changes = report.split("## Changes since last week")[1].split("\n## ")[0]
    assert "- newly unused index public.items_note" in changes
    assert "public.items_id" not in changes  # unused both weeks: not news
