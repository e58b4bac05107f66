"""Containment actions: suggested in the page of the alert that fired, run from the incident
with who ran it on the timeline, refused to a viewer, recorded in the actions log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.support.daemon import Daemon
from tests.support.receivers import SmtpReceiver
from tests.support.servers import closed_port


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver()
    yield server
    server.stop()


def config(tmp_path: Path, smtp: SmtpReceiver) -> str:
    return f"""
people:
  alice: {{email: alice@example.com}}
  victor: {{email: victor@example.com, role: viewer}}
schedules:
  primary: {{timezone: UTC, rotation: daily, handoff: "00:00", members: [alice]}}
escalation:
  - {{who: [primary], after: 10m}}
channels:
  mail: {{type: email, host: 127.0.0.1, port: {smtp.port}, starttls: false, from: o@example.com}}
actions:
  restart-app:
    description: restart the application (the runbook's docker-compose restart fraiseql)
    command: [sh, -c, "echo restarting fraiseql; echo $$ > {tmp_path}/restarted"]
    suggest_for: [app]
  drop-caches:
    command: [sh, -c, "echo dropped"]
    roles: [admin]
checks:
  app: {{type: tcp, host: "127.0.0.1:{closed_port()}", timeout: 1s, interval: 1s, for: 0s,
         severity: SEV-2}}
"""


def opsbook(d: Daemon, *args: str, user: str = "alice") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsbook", *args, "--config", str(d.config)],
                          capture_output=True, text=True, check=False, timeout=60,
                          env={**os.environ, "OPSBOOK_USER": user})  # fmt: skip


def test_an_action_is_suggested_in_the_page_and_run_from_the_incident(
    tmp_path: Path, smtp: SmtpReceiver
) -> None:
    d = Daemon(tmp_path, config(tmp_path, smtp))
    try:
        d.start()
        [incident] = d.wait_for(d.incidents, "an incident for the app", 30)
        [page] = d.wait_for(lambda: smtp.to("alice@example.com"), "alice's page", 30)
        text = page.get_body(preferencelist=("plain",)).get_content()
        assert f"opsbook incident act {incident.id} restart-app" in text
        assert "drop-caches" not in text  # suggested for nothing
        shown = json.loads(opsbook(d, "incident", "show", incident.id, "-f", "json").stdout)
        assert shown["suggested_actions"] == ["restart-app"]
        refused = opsbook(d, "incident", "act", incident.id, "restart-app", "--yes", user="victor")
        assert refused.returncode == 3
        assert (
            "victor is a viewer; action restart-app may be run by: responder, admin"
            in refused.stderr
        )
        assert not (tmp_path / "restarted").exists()
        asked = opsbook(d, "incident", "act", incident.id, "restart-app")  # no terminal
        assert asked.returncode == 3 and "add --yes" in asked.stderr
        ran = opsbook(d, "incident", "act", incident.id, "restart-app", "--yes")
        assert ran.returncode == 0, ran.stderr
        assert "restarting fraiseql" in ran.stdout
        assert (tmp_path / "restarted").exists()
        entries = [e for e in d.timeline(incident.id) if e.kind == "action_run"]
        assert [e.actor for e in entries] == ["alice", "alice"]
        assert entries[0].body.startswith("alice runs restart-app: sh -c")
        assert entries[1].body.startswith("restart-app OK (exit 0) in ")
        assert entries[1].data["output"] == "restarting fraiseql"
        admin_only = opsbook(d, "incident", "act", incident.id, "drop-caches", "--yes")
        assert admin_only.returncode == 3 and "may be run by: admin" in admin_only.stderr
        log = json.loads(opsbook(d, "actions", "log", "-f", "json").stdout)["runs"]
        assert [(r["action"], r["incident_id"], r["actor"], r["status"]) for r in log] == [
            ("restart-app", incident.id, "alice", "OK")
        ]
    finally:
        d.close()


def test_an_action_outside_an_incident_goes_to_the_actions_log(
    tmp_path: Path, cli: CliResult
) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(f"""
store: sqlite:///{tmp_path / "ops.db"}
actions:
  rotate-keys:
    command: [sh, -c, "echo rotating; exit 2"]
    confirm: false
checks:
  mem: {{type: memory}}
""")
    ran = cli("actions", "run", "rotate-keys", "--as", "bob", "--config", str(path))
    assert ran.code == 2 and "rotate-keys CRITICAL" in ran.out and "actions log" in ran.out
    log = json.loads(cli("actions", "log", "-f", "json", "--config", str(path)).out)["runs"]
    assert [(r["action"], r["incident_id"], r["exit_code"]) for r in log] == [
        ("rotate-keys", None, 2)
    ]
    unknown = cli("incident", "act", "INC-2026-01-01-9", "rotate-keys", "--config", str(path))
    assert unknown.code != 0 and "INC-2026-01-01-9" in unknown.err
    assert (
        len(json.loads(cli("actions", "log", "-f", "json", "--config", str(path)).out)["runs"]) == 1
    )  # nothing ran for it


def test_automatic_remediation_runs_once_per_period_and_never_for_sev1(tmp_path: Path) -> None:
    up = tmp_path / "up"
    probe = f"test -f {up} && echo 'OK - up' || (echo 'CRITICAL - down'; exit 2)"
    d = Daemon(
        tmp_path,
        f"""
actions:
  restart-app:
    command: [touch, "{up}"]
    auto: {{when: [app], for: 2s, once_per: 1h}}
  restart-db:
    command: [sh, -c, "echo must not run"]
    auto: {{when: [db], for: 1s}}
checks:
  app: {{type: command, command: [sh, -c, "{probe}"], interval: 1s, for: 0s, severity: SEV-2}}
  db: {{type: command, command: [sh, -c, "exit 2"], interval: 1s, for: 0s, severity: SEV-1}}
""",
    )
    try:
        d.start()
        app = d.wait_for(lambda: [i for i in d.incidents() if i.title.startswith("app")],
                         "the app's incident", 30)[0]  # fmt: skip
        said = d.wait_for(lambda: [e for e in d.timeline(app.id) if e.kind == "action_run"
                                   and e.body.startswith("opsbook ran restart-app")],
                          "the remedy and what it changed", 40)  # fmt: skip
        assert "app: CRITICAL before, OK after" in said[0].body
        assert up.exists()
        up.unlink()  # down again: it fires again, within the hour
        again = said[0].at
        d.wait_for(
            lambda: (
                d.alert("check:app").state == "firing" and d.alert("check:app").firing_since > again
            ),
            "the app firing again",
            30,
        )
        time.sleep(8)  # for: 2s passed, and a few housekeeping rounds
        runs = json.loads(opsbook(d, "actions", "log", "-f", "json").stdout)["runs"]
        assert [(r["action"], r["trigger"], r["actor"]) for r in runs] == [
            ("restart-app", "auto", "opsbook")
        ]  # once, and never restart-db (SEV-1)
        assert not up.exists()
    finally:
        d.close()
