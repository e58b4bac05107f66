"""opsbook jobs from a terminal: run now with its output, the record it leaves, the list, one
run at a time, and bad names said in one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import CliResult, run_opsbook


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "opsbook.yaml"
    path.write_text(f"""
store: sqlite:///{tmp_path / "ops.db"}
timezone: Europe/Paris
checks:
  mem: {{type: memory}}
jobs:
  scan:
    action: command
    schedule: "0 2 * * 1"
    command: [sh, -c, "echo 'WARNING - 2 packages to update'; echo scanning >&2; exit 1"]
  long:
    action: command
    schedule: "0 3 * * *"
    command: [sleep, "23.4567"]
""")
    return path


def test_a_job_run_now_shows_its_output_and_is_recorded(tmp_path: Path, cli: CliResult) -> None:
    config = str(_config(tmp_path))
    ran = cli("jobs", "run", "scan", "--as", "alice", "--config", config)
    assert ran.code == 1  # WARNING, as the command said
    assert "WARNING - 2 packages to update" in ran.out and "scanning" in ran.err
    assert "job scan WARNING in" in ran.out
    history = json.loads(cli("jobs", "history", "scan", "-f", "json", "--config", config).out)
    [run] = history["runs"]
    assert (run["trigger"], run["status"], run["actor"]) == ("manual", "WARNING", "alice")
    assert run["summary"] == "WARNING - 2 packages to update"
    shown = json.loads(cli("jobs", "show", str(run["id"]), "-f", "json", "--config", config).out)
    assert "[stderr] scanning" in shown["output"]
    listed = json.loads(cli("jobs", "list", "-f", "json", "--config", config).out)["jobs"]
    scan = next(j for j in listed if j["name"] == "scan")
    assert scan["last"]["status"] == "WARNING" and scan["timezone"] == "Europe/Paris"
    assert scan["next_at"].endswith(("T01:00:00Z", "T01:00:00+00:00"))  # Monday 02:00 CET
    table = cli("jobs", "list", "--config", config).out
    assert "scan" in table and "never" in table  # long has not run


def test_a_job_runs_once_at_a_time(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    first = subprocess.Popen([sys.executable, "-m", "opsbook", "jobs", "run", "long",
                              "--config", config], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            shown = run_opsbook("jobs", "history", "long", "-f", "json", "--config", config)
            if json.loads(shown.stdout or '{"runs": []}')["runs"]:
                break
            time.sleep(0.2)
        second = run_opsbook("jobs", "run", "long", "--config", config)
        assert second.returncode == 1
        assert second.stderr.strip().endswith("job long is already running (job lock 'job:long')")
        first.send_signal(signal.SIGINT)  # Ctrl-C: the job stops with it, and says so
        assert first.wait(15) == 130
    finally:
        first.kill()
        first.wait()
    [run] = json.loads(run_opsbook("jobs", "history", "long", "-f", "json",
                                   "--config", config).stdout)["runs"]  # fmt: skip
    assert (run["status"], run["summary"]) == ("UNKNOWN", "interrupted (Ctrl-C); killed")
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit()
            and b"23.4567" in _cmdline(p)]  # fmt: skip
    assert not left, "the job's process outlived Ctrl-C"


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def test_unknown_names_are_one_line(tmp_path: Path, cli: CliResult) -> None:
    config = str(_config(tmp_path))
    bad = cli("jobs", "run", "nope", "--config", config)
    assert bad.code == 3
    assert "no job 'nope'" in bad.err and "(jobs: scan, long)" in bad.err
    assert "Traceback" not in bad.err
    missing = cli("jobs", "show", "999", "--config", config)
    assert missing.code == 3 and "no job run 999" in missing.err
    command = cli("jobs", "exec", "scan", "--config", config)
    assert command.code == 3 and "runs a command" in command.err


def test_a_secret_a_job_prints_is_never_shown_or_stored(tmp_path: Path, cli: CliResult) -> None:
    secret = "tok-Sup3rSecret-991"
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"""
store: sqlite:///{tmp_path / "ops.db"}
checks:
  mem: {{type: memory}}
jobs:
  sync:
    action: command
    schedule: "0 * * * *"
    env: {{API_TOKEN: "${{SYNC_TOKEN}}"}}
    shell: true
    command: 'echo "calling with $API_TOKEN"; echo "token $API_TOKEN refused" >&2; exit 2'
""")
    c = ["--config", str(config)]
    ran = cli("jobs", "run", "sync", *c, env={"SYNC_TOKEN": secret})
    assert ran.code == 2 and "calling with ***" in ran.out
    shown = cli("jobs", "show", "1", *c, env={"SYNC_TOKEN": secret}).out
    assert "token *** refused" in shown
    for text in (ran.out, ran.err, shown):
        assert secret not in text
    for stored in tmp_path.glob("ops.db*"):  # the WAL too
        assert secret.encode() not in stored.read_bytes(), stored
