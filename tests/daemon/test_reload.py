"""Live reload of a real daemon: SIGHUP, opsbook serve reload and watch_config; a new check,
person and backup source without a restart, a firing alert kept, a broken file refused."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.conftest import run_opsbook
from tests.support.daemon import Daemon
from tests.support.servers import RedisServer

BASE = """
checks:
  cache: {{type: redis, url: "{url}", interval: 1s, for: 0s, severity: SEV-1}}
"""


def rewrite(d: Daemon, extra: str) -> None:
    head = d.config.read_text().split("checks:")[0]
    d.config.write_text(head + extra)


def test_sighup_adds_a_check_a_person_and_a_backup_source_and_keeps_the_firing_alert(
    tmp_path: Path, redis_fresh: RedisServer
) -> None:
    d = Daemon(tmp_path, BASE.format(url=redis_fresh.url()))
    try:
        d.start()
        redis_fresh.stop()
        [incident] = d.wait_for(d.incidents, "the incident")
        firing = d.alert("check:cache")
        etc = tmp_path / "etc"
        etc.mkdir()
        (etc / "app.env").write_text("WORKERS=4\n")
        rewrite(d, f"""
people:
  alice: {{webhook: hook}}
channels:
  hook: {{type: webhook, url: "http://127.0.0.1:9/never"}}
backups:
  repositories:
    local: {{type: filesystem, path: {tmp_path / "repo"}}}
  encryption: none
  sources:
    conf: {{type: files, paths: [{etc}], on_change: true}}
checks:
  cache: {{type: redis, url: "{redis_fresh.url()}", interval: 1s, for: 0s, severity: SEV-1}}
  mem: {{type: memory, interval: 1s}}
""")  # fmt: skip
        assert d.proc is not None
        d.proc.send_signal(signal.SIGHUP)
        d.wait_for(lambda: "reloaded" in d.logs(), "the reload")
        assert "checks +2 (backup-conf, mem)" in d.logs()
        assert "people +1 (alice)" in d.logs()
        assert "backup sources +1 (conf)" in d.logs()
        d.wait_runs("mem", 1)  # the new check runs
        backed_up = tmp_path / "repo" / "conf"
        d.wait_for(backed_up.is_dir, "the new source's backup", timeout=30)
        kept = d.alert("check:cache")
        assert kept.state == "firing" and kept.firing_since == firing.firing_since
        found = d.incidents()
        assert found[0].id == incident.id
        assert not any(i.title.startswith("cache") for i in found[1:])  # no second one
        assert d.proc.poll() is None  # no restart
    finally:
        d.close()


def test_a_broken_file_is_refused_and_the_old_one_keeps_running(
    tmp_path: Path, redis: RedisServer
) -> None:
    d = Daemon(tmp_path, BASE.format(url=redis.url()) + "  mem: {type: memory, interval: 1s}\n")
    try:
        d.start()
        d.wait_runs("mem", 1)
        rewrite(d, "checks:\n  mem: {type: memory, interval: 1s, warnin: 90%}\n")
        done = run_opsbook("serve", "reload", "--config", str(d.config))
        assert done.returncode == 0, done.stderr
        d.wait_for(lambda: "reload refused" in d.logs(), "the refusal")
        assert "opsbook.yaml:" in d.logs() and "warnin" in d.logs()  # file:line, the key
        health = d.wait_for(lambda: (h := d.health()) and h["status"] == "degraded" and h,
                            "degraded")  # fmt: skip
        assert any(p.startswith("config: ") for p in health["problems"])
        d.wait_runs("cache", 2, "OK")  # the old configuration goes on
        assert d.alert("opsbook:config").state == "firing"
        rewrite(d, BASE.format(url=redis.url()))  # fixed: and a check removed
        run_opsbook("serve", "reload", "--config", str(d.config))
        d.wait_for(lambda: "reloaded" in d.logs(), "the reload")
        d.wait_for(lambda: d.health()["status"] == "ok", "healthy again")
        assert "checks -1 (mem)" in d.logs()
    finally:
        d.close()


def test_watch_config_reloads_when_the_file_changes(tmp_path: Path, redis: RedisServer) -> None:
    d = Daemon(tmp_path, BASE.format(url=redis.url()))
    head = d.config.read_text().replace("server:\n", "server:\n  watch_config: true\n", 1)
    d.config.write_text(head)
    try:
        d.start()
        d.wait_runs("cache", 1)
        d.config.write_text(head + "  mem: {type: memory, interval: 1s}\n")
        d.wait_for(lambda: "reloaded" in d.logs(), "the reload", timeout=15)
        d.wait_runs("mem", 1)
    finally:
        d.close()


def _open_files(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.add(str(Path(fd).readlink()))
        except OSError:  # closed while listed
            continue
    return found


def test_a_log_check_moved_by_a_reload_lets_go_of_its_old_file(
    tmp_path: Path, redis: RedisServer
) -> None:
    line = '10.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"\n'
    old, new = tmp_path / "old.log", tmp_path / "new.log"
    old.write_text(line)
    new.write_text(line)
    check = "  traffic: {{type: log, path: {}, interval: 1s, unusual_traffic: false}}\n"
    d = Daemon(tmp_path, BASE.format(url=redis.url()) + check.format(old))
    try:
        d.start()
        d.wait_runs("traffic", 1)
        assert d.proc is not None
        assert str(old) in _open_files(d.proc.pid)  # followed between runs
        rewrite(d, "checks:\n" + check.format(new))
        d.proc.send_signal(signal.SIGHUP)
        d.wait_for(lambda: "reloaded" in d.logs(), "the reload")
        d.wait_runs("traffic", 1)
        files = _open_files(d.proc.pid)
        assert str(new) in files
        assert str(old) not in files  # closed: a rotated-away log would stay on disk
    finally:
        d.close()
