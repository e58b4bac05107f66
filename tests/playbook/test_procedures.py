"""A recovery procedure run for real: it waits for a check instead of sleeping, stops at the
failing step saying how to go on, is killed mid-step, resumes where it stopped (never redoing
a step), verifies with SQL on a real PostgreSQL, and puts every step on the incident."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.conftest import CliResult, run_opsbook
from tests.support.servers import PostgresServer

COUNT = "SELECT count(*) AS orders, max(id) AS newest FROM orders"


def _config(tmp_path: Path, dsn: str) -> Path:
    t = tmp_path
    path = t / "opsbook.yaml"
    path.write_text(f"""
store: sqlite:///{t / "ops.db"}
people:
  victor: {{email: v@example.com, role: viewer}}
checks:
  ready: {{type: command, command: [sh, -c, "test -f {t}/ready || exit 2"], timeout: 5s}}
actions:
  stop-app:
    command: [sh, -c, "echo stopped >> {t}/stopped"]
    confirm: false
procedures:
  recover:
    description: the runbook's database-only recovery, shortened
    steps:
      - action: stop-app
      - run: [sh, -c, "sleep 1; touch {t}/ready"]
      - wait: {{check: ready, timeout: 20s, every: 0.5s}}
      - title: the fix is in
        run: [sh, -c, "touch {t}/in-step-4; test -f {t}/fixed && (test -f {t}/fast || sleep 60)"]
      - verify: {{dsn: "{dsn}", sql: "{COUNT}", expect: "> 0"}}
      - run: [sh, -c, "echo finished >> {t}/done"]
  by-hand:
    steps:
      - confirm: the load balancer points at the new host
""")
    return path


def test_a_procedure_fails_is_killed_and_resumes_where_it_stopped(
    tmp_path: Path, cli: CliResult, pg: PostgresServer
) -> None:
    db = f"proc_{uuid.uuid4().hex[:8]}"
    pg.psql(f"CREATE DATABASE {db}")
    pg.psql("CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 42)", db=db)
    config = _config(tmp_path, pg.dsn(db=db))
    c = ["--config", str(config)]
    incident = re.search(
        r"INC-[0-9-]+",
        cli("incident", "open", "--sev", "2", "--title", "orders table lost", *c).out,
    ).group(0)  # type: ignore[union-attr]
    dry = cli("run", "recover", "--dry-run", *c)
    assert dry.code == 0 and "6/6 run sh -c echo finished" in dry.err
    assert not (tmp_path / "stopped").exists()  # a dry run runs nothing
    first = cli("run", "recover", "--incident", incident, *c)
    assert first.code == 2
    assert "FAILED at step 4" in first.out
    assert "opsbook run recover --resume (from step 4)" in first.err
    assert "step 3/6 wait until ready is OK" in first.err and "ready OK" in first.err
    (tmp_path / "fixed").touch()
    (tmp_path / "in-step-4").unlink()
    argv = [sys.executable, "-m", "opsbook", "run", "recover", "--resume", *c]
    killed = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not (tmp_path / "in-step-4").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    (tmp_path / "fast").touch()
    resumed = run_opsbook("run", "recover", "--resume", *c)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming recover" in resumed.stderr and "at step 4/6" in resumed.stderr
    assert "orders=42, newest=42" in resumed.stderr
    assert (tmp_path / "stopped").read_text() == "stopped\n"  # step 1 ran once
    assert (tmp_path / "done").read_text() == "finished\n"
    shown = json.loads(cli("incident", "show", incident, "-f", "json", *c).out)
    body = [e["body"] for e in shown["timeline"] if e["kind"] == "procedure"]
    assert any("step 4/6 the fix is in: FAILED" in b for b in body)
    assert any("step 5/6 verify" in b and "42 > 0: holds" in b for b in body)
    assert body[-1] == "recover: all 6 steps done"
    nothing = cli("run", "recover", "--resume", *c)
    assert nothing.code == 3 and "nothing to resume" in nothing.err
    pg.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def test_a_step_for_a_person_needs_one_and_a_viewer_runs_nothing(
    tmp_path: Path, cli: CliResult
) -> None:
    config = _config(tmp_path, "postgresql://nobody@127.0.0.1:1/none")
    c = ["--config", str(config)]
    asked = cli("run", "by-hand", *c)
    assert asked.code == 2
    assert (
        "needs a person at a terminal to confirm: the load balancer points at the new host"
        in asked.out
    )
    viewer = cli("run", "recover", "--as", "victor", *c)
    assert viewer.code == 3 and "victor is a viewer; procedure recover may be run by" in viewer.err
    assert not (tmp_path / "stopped").exists()
