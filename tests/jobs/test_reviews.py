"""The weekly and monthly reviews built from a store with known records: markdown headings and
tables parsed, the figures checked, the HTML page self-contained."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from opsbook.store.open import open_store
from opsbook.store.tables import check_results
from tests.conftest import CliResult


def tables(markdown: str) -> dict[str, list[dict[str, str]]]:
    """Each `## heading`'s markdown table as rows of {column: cell}."""
    out = {}
    for heading, body in re.findall(r"^## (.+?)\n\n(.*?)(?=^## |\Z)", markdown, re.M | re.S):
        lines = [line for line in body.splitlines() if line.startswith("|")]
        if len(lines) >= 2:
            head = [c.strip() for c in lines[0].strip("|").split("|")]
            assert set(lines[1].replace("|", "")) == {"-"}, heading
            out[heading] = [dict(zip(head, (c.strip() for c in line.strip("|").split("|")),
                                     strict=True)) for line in lines[2:]]  # fmt: skip
    return out


def test_the_weekly_and_monthly_reviews_are_built_from_the_records(
    tmp_path: Path, cli: CliResult
) -> None:
    store = f"sqlite:///{tmp_path / 'ops.db'}"
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"""
service: fraiseql
store: {store}
checks:
  api: {{type: memory}}
  disk: {{type: disk, path: /}}
jobs:
  nightly:
    action: command
    schedule: "0 2 * * *"
    command: [sh, -c, "echo 'OK - 12 tables vacuumed'"]
  weekly:
    action: weekly-report
""")
    c = ["--config", str(config)]
    sev2 = re.search(
        r"INC-[0-9-]+", cli("incident", "open", "--sev", "2", "--title", "checkout 5xx", *c).out
    ).group(0)  # type: ignore[union-attr]
    cli("incident", "open", "--sev", "4", "--title", "a slow admin page", *c)
    assert cli("incident", "ack", sev2, *c).code == 0
    assert cli("incident", "resolve", sev2, "--why", "rolled back", *c).code == 0
    assert cli("jobs", "run", "nightly", *c).code == 0
    now = datetime.now(UTC)
    rows = [{"check_name": "api", "at": now - timedelta(minutes=10 * i), "value": 1.0,
             "duration_ms": 1.0, "status": 2 if i in (5, 6) else 0, "message": "m"}
            for i in range(100)]  # fmt: skip
    opened = open_store(store)
    with opened.engine.begin() as conn:
        conn.execute(insert(check_results), rows)
    opened.engine.dispose()
    weekly = cli("report", "weekly", "-f", "json", *c)
    assert weekly.code == 0
    doc = json.loads(weekly.out)
    assert doc["figures"]["opened"] == 2 and doc["figures"]["resolved"] == 1
    found = tables(doc["report"])
    by_sev = {r["severity"]: r for r in found["Incidents by severity"]}
    assert by_sev["SEV-2"]["opened"] == "1" and by_sev["SEV-2"]["MTTA (median)"] != "–"
    assert [r["title"] for r in found["SEV-4 for review"]] == ["a slow admin page"]
    uptime = {r["check"]: r for r in found["Checks: uptime"]}
    assert uptime["api"]["uptime"] == "98.000%" and uptime["api"]["results"] == "100"
    assert "**WARNING** api: 98.00% uptime" in doc["report"]
    [job] = found["Calendar jobs"]
    assert (job["job"], job["status"], job["summary"]) == (
        "nightly",
        "OK",
        "OK - 12 tables vacuumed",
    )
    monthly = cli("report", "monthly", *c).out
    assert "## Capacity" in monthly and "disk.used: not enough history" in monthly
    page = tmp_path / "monthly.html"
    assert cli("report", "monthly", "-f", "html", "-o", str(page), *c).code == 0
    html = page.read_text()
    assert "<table>" in html and not re.search(r"<(script|link)\b", html)
    ran = cli("jobs", "run", "weekly", *c)  # the same review, as a calendar job
    assert ran.code == 0 and "2 incident(s) opened, 1 resolved" in ran.out
