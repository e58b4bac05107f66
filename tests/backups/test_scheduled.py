"""Backups on a schedule inside `opsbook serve`, and their health as checks and alerts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsbook.backups.records import Event, EventKind
from opsbook.checks.backup import assess
from opsbook.config.checks import BackupCheck
from opsbook.status import Status
from tests.support.daemon import Daemon
from tests.support.servers import closed_port

from .conftest import Cli, Env

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CHECK = BackupCheck(source="db", max_age=26 * 3600.0)


def _backup(hours_ago: float, backup_id: str | None, ok: bool = True, detail: str = "") -> Event:
    at = NOW - timedelta(hours=hours_ago)
    return Event(EventKind.BACKUP, "db", backup_id, "local", at, at, ok, detail)


def _verify(backup_id: str, ok: bool, detail: str = "") -> Event:
    return Event(EventKind.VERIFY, "db", backup_id, "local", NOW, NOW, ok, detail)


def test_backup_health_from_the_record() -> None:
    never = assess(CHECK, [], {}, NOW)
    assert (never.status, never.message) == (Status.WARNING, "no backup of db yet")
    fresh = assess(CHECK, [_backup(2, "b1")], {"b1": _verify("b1", True)}, NOW)
    assert fresh.status is Status.OK
    assert fresh.message == "newest backup 2h old (b1); verified"
    stale = assess(CHECK, [_backup(30, "b1")], {"b1": _verify("b1", True)}, NOW)
    assert stale.status is Status.CRITICAL and "over max_age 26h" in stale.message
    failed = assess(CHECK, [_backup(1, None, False, "pg_dump failed: disk full"), _backup(3, "b1")],
                    {"b1": _verify("b1", True)}, NOW)  # fmt: skip
    assert failed.status is Status.CRITICAL
    assert "last run failed: pg_dump failed: disk full" in failed.message
    bad = assess(CHECK, [_backup(1, "b2")], {"b2": _verify("b2", False, "2 difference(s)")}, NOW)
    assert bad.status is Status.CRITICAL and "verification failed: 2 difference(s)" in bad.message
    partial = assess(CHECK, [_backup(1, "b3", False, "stored in local; failed: offsite: 503")],
                     {"b3": _verify("b3", True)}, NOW)  # fmt: skip
    assert partial.status is Status.WARNING and "failed: offsite: 503" in partial.message
    waiting = assess(CHECK, [_backup(30, "b4")], {}, NOW)
    assert "not verified yet" in waiting.message


def test_opsbook_check_reports_each_backup_source(ops: Cli, env: Env) -> None:
    env.standard(settings={"verify_after_backup": "true"})
    before = json.loads(ops("check", "backup-db", "-f", "json").out)["checks"][0]
    assert (before["status"], before["message"]) == ("WARNING", "no backup of db yet")
    ops("backup", "run", "db", "-i", str(env.identity))
    after = ops("check", "backup-db", "-f", "json")
    assert after.code == 0, after.out
    assert "; verified" in json.loads(after.out)["checks"][0]["message"]


def test_serve_runs_scheduled_backups_and_a_failing_source_opens_an_incident(env: Env) -> None:
    broken = f"postgresql://app:pw-Secr3t@127.0.0.1:{closed_port()}/app"
    config = env.standard(
        settings={"verify_after_backup": "true"},
        source={"schedule": "'* * * * * */2'"},
    ).read_text()
    config += (f"    broken:\n      type: postgres\n      dsn: {broken}\n"
               "      schedule: '* * * * * */2'\n      severity: SEV-2\n")  # fmt: skip
    d = Daemon(env.root, config.replace(f"store: sqlite:///{env.root / 'ops.db'}\n", ""),
               store=f"sqlite:///{env.root / 'ops.db'}")  # fmt: skip
    d.start(env={"OPSBOOK_AGE_IDENTITY": str(env.identity)})
    try:
        [incident] = d.wait_for(
            lambda: [i for i in d.incidents() if i.severity == 2],
            "a SEV-2 incident for the broken source", timeout=40,
        )  # fmt: skip
        assert incident.title.startswith("backup-broken: no backup of broken yet")
        bodies = " ".join(e.body for e in d.timeline(incident.id))
        assert "last attempt failed: cannot connect to postgresql://app:***@127.0.0.1" in bodies
        d.wait_for(lambda: d.metric("opsbook_check_status", check="backup-db") == 0,
                   "a verified scheduled backup of db", timeout=40)  # fmt: skip
        assert "pw-Secr3t" not in d.logs()
        assert d.stop() == 0
    finally:
        d.close()


def test_serve_backs_up_configuration_after_every_change(env: Env) -> None:
    etc = env.root / "etc" / "app"
    etc.mkdir(parents=True)
    (etc / "app.env").write_text("WORKERS=4\n")
    (etc / "app.env.swp").write_text("editor junk")
    store = f"sqlite:///{env.root / 'ops.db'}"
    d = Daemon(env.root, f"""
backups:
  repositories:
    local: {{type: filesystem, path: {env.root / "repo"}}}
  encryption: none
  sources:
    config: {{type: files, paths: [{etc}], exclude: ["*.swp"], on_change: true}}
""", store=store)  # fmt: skip
    listed = lambda: json.loads(  # noqa: E731
        _cli_json(d.config, "backup", "list", "-f", "json")
    )
    d.start()
    try:
        [first] = d.wait_for(listed, "the first backup, taken at start", timeout=30)
        assert first["source"] == "config"
        # What counts as a change (excluded files do not; files written together are one
        # change, backed up once it has settled) is tested on a fake clock in test_changes.py.
        (etc / "app.env.swp").write_text("more junk")
        (etc / "app.env").write_text("WORKERS=8\n")
        (etc / "nginx.conf").write_text("worker_processes 2;\n")
        [_, second] = d.wait_for(lambda: len(listed()) == 2 and listed(),
                                 "a backup after the change", timeout=30)  # fmt: skip
        shown = json.loads(_cli_json(d.config, "backup", "show", second["id"], "-f", "json"))
        assert second["source"] == "config" and shown["id"] == second["id"]
        assert d.stop() == 0
    finally:
        d.close()


def _cli_json(config: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "opsbook", "-c", str(config), *args],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout
