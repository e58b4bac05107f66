"""The monthly restore drill as a calendar job: the newest backup restored and compared,
recorded as a verification and as a job run; a flipped byte fails it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Cli, Env

JOB = """
jobs:
  drill:
    action: restore-drill
    schedule: "0 5 1 * *"
"""


def test_the_restore_drill_restores_the_newest_backup_and_a_flipped_byte_fails_it(
    ops: Cli, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = env.standard()
    config.write_text(config.read_text() + JOB)
    assert ops("backup", "run", "db", "-i", str(env.identity)).code == 0
    monkeypatch.setenv("OPSBOOK_AGE_IDENTITY", str(env.identity))
    good = ops("jobs", "run", "drill")
    assert good.code == 0, good.out + good.err
    [run] = json.loads(ops("jobs", "history", "drill", "-f", "json").out)["runs"]
    shown = json.loads(ops("jobs", "show", str(run["id"]), "-f", "json").out)
    drilled = shown["data"]["figures"]["sources"]["db"]
    assert drilled["ok"] and drilled["rows"] == 20500 and drilled["tables"] == 3
    assert run["summary"] == "1 of 1 source(s) restored and compared"
    verified = json.loads(ops("check", "backup-db", "-f", "json").out)["checks"][0]
    assert verified["message"].endswith("; verified")
    data = max((p for p in (env.root / "repo").rglob("*") if p.is_file()),
               key=lambda p: p.stat().st_size)  # fmt: skip
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    data.write_bytes(bytes(blob))
    bad = ops("jobs", "run", "drill")
    assert bad.code == 2
    assert "db: the restore of" in bad.out and "FAILED" in bad.out


def test_a_drill_with_no_backup_to_restore_is_critical(ops: Cli, env: Env) -> None:
    config = env.standard()
    config.write_text(config.read_text() + JOB)
    result = ops("jobs", "exec", "drill", "-f", "json")
    assert result.code == 2
    assert json.loads(result.out)["findings"][0]["title"] == "db: no backup to restore"


def test_a_drill_without_backups_is_refused_at_validation(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(JOB)
    result = cli("config", "validate", "--config", str(path))
    assert result.code == 3
    assert (
        "jobs.drill.action: restore-drill needs backups: with a source to restore"
        in result.err + result.out
    )
