"""Log retention on a real log directory: old rotated files go, an old file a process holds
open stays, nothing outside the globs is touched, a dry run deletes nothing; logrotate's
state and unrotated live logs are looked at."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult

DAY = 86400


def _file(path: Path, size: int, days_old: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = time.time() - days_old * DAY
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "log"
    _file(root / "nginx" / "access.log", 2_000_000, 0)  # live, big
    _file(root / "nginx" / "access.log.1", 1000, 1)
    _file(root / "nginx" / "access.log.31.gz", 4000, 31)
    _file(root / "nginx" / "access.log.45.gz", 5000, 45)
    _file(root / "nginx" / "error.log.40", 3000, 40)  # held open below
    _file(root / "app" / "app.log.60", 6000, 60)  # outside the globs
    (root / "nginx" / "old-link.log.90").symlink_to(root / "app" / "app.log.60")
    state = _file(tmp_path / "logrotate.status", 0, 3)
    state.write_text(f'logrotate state -- version 2\n"{root}/nginx/access.log" 2026-11-29-3:0:0\n')
    os.utime(state, (time.time() - 3 * DAY, time.time() - 3 * DAY))
    yield root


def _config(tmp_path: Path, root: Path, dry_run: bool) -> Path:
    path = tmp_path / "opsbook.yaml"
    path.write_text(f"""
store: sqlite:///{tmp_path / "ops.db"}
checks:
  mem: {{type: memory}}
jobs:
  logs:
    action: log-retention
    schedule: "30 3 * * *"
    paths: ["{root}/nginx/*.log.*"]
    dry_run: {str(dry_run).lower()}
    logs: ["{root}/nginx/*.log"]
    max_size: 1MB
    logrotate_state: {tmp_path / "logrotate.status"}
""")
    return path


def test_a_dry_run_lists_what_would_go_and_deletes_nothing(
    tmp_path: Path, logs: Path, cli: CliResult
) -> None:
    config = _config(tmp_path, logs, dry_run=True)
    before = sorted(p.name for p in logs.rglob("*"))
    result = cli("jobs", "exec", "logs", "-f", "json", "--config", str(config))
    report = json.loads(result.out)
    assert result.code == 1  # logrotate stale, access.log unrotated: WARNINGs
    assert sorted(Path(p).name for p in report["figures"]["paths"]) == [
        "access.log.31.gz", "access.log.45.gz", "error.log.40"]  # fmt: skip
    assert report["summary"].startswith("dry run: would delete 3 file(s), 11.7 KiB")
    assert sorted(p.name for p in logs.rglob("*")) == before


def test_old_rotated_logs_go_but_an_open_one_stays_and_rotation_is_checked(
    tmp_path: Path, logs: Path, cli: CliResult
) -> None:
    config = _config(tmp_path, logs, dry_run=False)
    held = logs / "nginx" / "error.log.40"
    with held.open("rb") as handle:  # a process still writing it, as nginx would
        holder = subprocess.Popen(["sleep", "60"], stdin=handle)
    try:
        result = cli("jobs", "exec", "logs", "-f", "json", "--config", str(config))
    finally:
        holder.kill()
        holder.wait()
    report = json.loads(result.out)
    assert report["figures"]["bytes"] == 9000 and report["figures"]["kept_open"] == 1
    left = sorted(str(p.relative_to(logs)) for p in logs.rglob("*"))
    assert left == ["app", "app/app.log.60", "nginx", "nginx/access.log", "nginx/access.log.1",
                    "nginx/error.log.40", "nginx/old-link.log.90"]  # fmt: skip
    titles = {f["title"]: f for f in report["findings"]}
    assert f"kept {held}: open by pid {holder.pid} (sleep)" in titles
    assert any(t.startswith("logrotate has not run for 3d") for t in titles)
    unrotated = titles[f"{logs}/nginx/access.log is 1.9 MiB: not rotated"]
    assert unrotated["status"] == "WARNING" and "last rotated 2026-11-29" in unrotated["detail"]
    assert "## Files (deleted)" in report["report"]


def test_globs_of_a_whole_system_directory_are_refused(tmp_path: Path, cli: CliResult) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text("""
jobs:
  logs: {action: log-retention, schedule: "30 3 * * *", paths: ["/var/log/*"]}
""")
    result = cli("config", "validate", "--config", str(path))
    assert result.code == 3
    assert (
        "jobs.logs.paths: '/var/log/*' matches every file of a system directory"
        in result.err + result.out
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_without_sight_of_every_process_nothing_is_deleted() -> None:
    """Run as nobody, the open files of root's processes cannot be seen: no file is known
    to be closed, so none is deleted, and the report says why."""
    import pwd
    import shutil
    import tempfile

    from opsbook.config.jobs import LogRetentionJob
    from opsbook.routines import logfiles

    tmp_path = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's is root's alone
    tmp_path.chmod(0o755)
    request_cleanup = tmp_path
    logs = tmp_path / "log"
    old = _file(logs / "app.log.40", 4000, 40)
    nobody = pwd.getpwnam("nobody").pw_uid
    os.chown(logs, nobody, -1)
    os.chown(old, nobody, -1)
    job = LogRetentionJob(schedule="30 3 * * *", paths=(f"{logs}/*.log.*",), dry_run=False,
                          logrotate_state=str(tmp_path / "none"))  # fmt: skip
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child becomes nobody and prunes; the parent reads what it found
        try:
            os.close(read)
            os.setuid(nobody)
            titles = [f.title for f in logfiles.perform(job).findings]
            os.write(write, json.dumps(titles).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        titles = json.loads(pipe.read() or "[]")
    os.waitpid(child, 0)
    try:
        assert any(t.startswith("nothing deleted: the open files of") for t in titles), titles
        assert old.exists()
    finally:
        shutil.rmtree(request_cleanup, ignore_errors=True)
