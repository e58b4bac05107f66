"""The daily report from a real store: the health check run now, the last day's incidents,
who is on call, and what is due this week; advisory (exit 0) whatever it lists."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import CliResult
from tests.support.servers import closed_port


def test_the_daily_report_says_what_changed_who_is_on_call_and_what_is_due(
    tmp_path: Path, cli: CliResult
) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"""
service: fraiseql
store: sqlite:///{tmp_path / "ops.db"}
timezone: Europe/Paris
people:
  alice: {{email: alice@example.com}}
  bob: {{email: bob@example.com}}
schedules:
  primary: {{timezone: Europe/Paris, rotation: daily, handoff: "09:00", members: [alice, bob]}}
checks:
  mem: {{type: memory}}
  db: {{type: tcp, host: "127.0.0.1:{closed_port()}", timeout: 1s}}
jobs:
  morning:
    action: daily-report
  audit:
    action: command
    schedule: "0 2 * * *"
    command: ["true"]
""")
    c = ["--config", str(config)]
    opened = cli("incident", "open", "--sev", "2", "--title", "checkout errors", *c)
    assert opened.code == 0, opened.err
    incident = re.search(r"INC-[0-9-]+", opened.out + opened.err)
    assert incident is not None
    assert cli("incident", "action", "add", incident.group(0), "add a retry budget",
               "--owner", "alice", "--due", "2d", *c).code == 0  # fmt: skip
    result = cli("report", "daily", "-f", "json", *c)
    assert result.code == 0  # advisory, though a check is CRITICAL
    report = json.loads(result.out)
    assert report["figures"]["opened"] == 1 and report["figures"]["checks_not_ok"] == 1
    text = report["report"]
    sections = dict(re.findall(r"^## (.+?)\n\n(.*?)(?=^## |\Z)", text, re.M | re.S))
    assert "**CRITICAL** db:" in sections["Needs attention"]
    assert f"opened {incident.group(0)} SEV-2: checkout errors" in sections["Since yesterday"]
    assert re.search(r"- primary: (alice|bob) until .* then (alice|bob)", sections["On call today"])
    due = sections["Due this week"]
    assert "job audit (command)" in due and "job morning (daily-report)" in due
    assert "add a retry budget" in due and "alice" in due
    html = tmp_path / "daily.html"
    assert cli("report", "daily", "-f", "html", "-o", str(html), *c).code == 0
    assert "<h2>On call today</h2>" in html.read_text()
