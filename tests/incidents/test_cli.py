"""``opsbook incident`` / ``severity`` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


@pytest.fixture
def ops(cli: Cli, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("OPSBOOK_STORE", store_url)
    monkeypatch.setenv("OPSBOOK_USER", "alice")
    return cli


def open_incident(ops: Cli, *args: str) -> str:
    result = ops("incident", "open", *args)
    assert result.code == 0, result.err
    return result.out.strip()


def test_open_prints_the_id_and_json_has_it(ops: Cli) -> None:
    incident_id = open_incident(ops, "--sev", "1", "--title", "API down")
    assert re.fullmatch(r"INC-\d{4}-\d\d-\d\d-1", incident_id)
    doc = json.loads(ops("incident", "open", "-s", "SEV-2", "-t", "Slow", "-f", "json").out)
    assert doc["id"].endswith("-2")
    assert doc["severity"] == "SEV-2"
    assert doc["opened_by"] == "alice"


def test_list_json_has_the_fields_scripts_rely_on(ops: Cli) -> None:
    first = open_incident(ops, "--sev", "2", "--title", "a")
    open_incident(ops, "--sev", "4", "--title", "b")
    assert ops("incident", "ack", first, "--as", "bob").code == 0
    assert ops("incident", "resolve", first, "--why", "fixed").code == 0
    rows = json.loads(ops("incident", "list", "--format", "json").out)
    assert isinstance(rows, list)
    assert len(rows) == 2
    for row in rows:
        assert {"id", "severity", "phase", "title", "opened_at", "acknowledged_at",
                "resolved_at", "response_due_at"} <= set(row)  # fmt: skip
        assert ISO.match(row["opened_at"])
        assert ISO.match(row["response_due_at"])
    done = next(r for r in rows if r["id"] == first)
    assert done["severity"] == "SEV-2"
    assert done["phase"] == "resolved"
    assert ISO.match(done["acknowledged_at"])
    assert ISO.match(done["resolved_at"])
    other = next(r for r in rows if r["id"] != first)
    assert other["acknowledged_at"] is None
    assert other["resolved_at"] is None
    opened = json.loads(ops("incident", "list", "--open", "--sev", "4", "-f", "json").out)
    assert [r["title"] for r in opened] == ["b"]


def test_illegal_moves_exit_nonzero_with_one_line(ops: Cli) -> None:
    incident_id = open_incident(ops, "--sev", "2", "--title", "x")
    assert ops("incident", "ack", incident_id).code == 0
    twice = ops("incident", "ack", incident_id)
    assert twice.code == 1
    assert twice.err.strip().count("\n") == 0
    assert "already acknowledged by alice" in twice.err
    unknown = ops("incident", "note", "INC-2000-01-01-1", "hello")
    assert unknown.code == 1
    assert "no incident 'INC-2000-01-01-1'" in unknown.err
    bad_sev = ops("incident", "open", "--sev", "5", "--title", "x")
    assert bad_sev.code == 3
    assert "unknown severity '5'" in bad_sev.err
    assert ops("incident", "resolve", incident_id, "--why", "done").code == 0
    again = ops("incident", "resolve", incident_id, "--why", "done")
    assert again.code == 1
    assert "already resolved" in again.err
    shown = json.loads(ops("incident", "show", incident_id, "-f", "json").out)
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds.count("resolved") == 1
    assert kinds.count("acknowledged") == 1


def test_show_has_the_whole_timeline_with_actors(ops: Cli) -> None:
    incident_id = open_incident(ops, "--sev", "3", "--title", "cache misses")
    ops("incident", "note", incident_id, "hit ratio 40%", "--as", "bob")
    ops("incident", "sev", incident_id, "2", "--why", "checkout slow", "--as", "bob")
    ops("incident", "assign", incident_id, "carol")
    ops("incident", "phase", incident_id, "contained", "--as", "carol")
    doc = json.loads(ops("incident", "show", incident_id, "--format", "json").out)
    assert [(e["actor"], e["kind"]) for e in doc["timeline"]] == [
        ("alice", "opened"), ("bob", "note"), ("bob", "severity"), ("alice", "assigned"),
        ("carol", "acknowledged"), ("carol", "phase"),
    ]  # fmt: skip
    assert doc["commander"] == "carol"
    assert all(ISO.match(e["at"]) for e in doc["timeline"])
    table = ops("incident", "show", incident_id)
    assert "hit ratio 40%" in table.out
    assert "raised SEV-3 → SEV-2: checkout slow" in table.out


def test_stats_json(ops: Cli) -> None:
    incident_id = open_incident(ops, "--sev", "1", "--title", "x")
    ops("incident", "ack", incident_id)
    ops("incident", "resolve", incident_id, "--why", "y")
    doc = json.loads(ops("incident", "stats", "--since", "7d", "-f", "json").out)
    sev1 = next(s for s in doc["severities"] if s["severity"] == "SEV-1")
    assert sev1["count"] == 1
    assert sev1["acked_within_target"] == 1.0
    assert sev1["mtta_median_s"] >= 0
    assert sev1["mttr_median_s"] >= sev1["mtta_median_s"]
    assert [s["severity"] for s in doc["severities"]] == ["SEV-1", "SEV-2", "SEV-3", "SEV-4"]


def test_list_marks_breached_incidents(ops: Cli, store_url: str) -> None:
    from sqlalchemy import update

    from opsbook.store.engine import make_engine
    from opsbook.store.tables import incidents

    incident_id = open_incident(ops, "--sev", "1", "--title", "nobody came")
    # An incident opened an hour ago, written as the daemon would have written it then.
    engine = make_engine(store_url)
    with engine.begin() as conn:
        past = datetime(2020, 1, 1, tzinfo=UTC)
        conn.execute(update(incidents).values(opened_at=past, response_due_at=past))
    engine.dispose()
    table = ops("incident", "list")
    assert re.search(rf"{incident_id}\s+SEV-1\s+triage\s+breached", table.out), table.out
    assert json.loads(ops("incident", "list", "-f", "json").out)[0]["response"] == "breached"


def test_report_reads_like_the_runbook_template(ops: Cli, tmp_path: Path) -> None:
    incident_id = open_incident(ops, "--sev", "2", "--title", "GraphQL 5xx", "--summary",
                                "Errors on /graphql after deploy")  # fmt: skip
    ops("incident", "ack", incident_id, "--as", "bob")
    ops("incident", "phase", incident_id, "investigating", "--as", "bob")
    ops("incident", "note", incident_id, "v2.3 migration holds a lock", "--as", "bob")
    ops("incident", "sev", incident_id, "1", "--why", "checkout down", "--as", "bob")
    ops("incident", "phase", incident_id, "contained", "--as", "bob")
    ops("incident", "phase", incident_id, "recovering", "--as", "bob")
    ops("incident", "resolve", incident_id, "--why", "rolled back to v2.2", "--as", "bob")
    ops("incident", "edit", incident_id, "--root-cause", "a migration | locked orders",
        "--users-affected", "all checkout users")  # fmt: skip
    ops("incident", "action", "add", incident_id, "Add lock timeout to migrations",
        "--owner", "bob", "--due", "2026-12-15")  # fmt: skip
    early = ops("incident", "phase", incident_id, "reviewed", "--as", "carol")
    assert early.code != 0  # a review with its impact unwritten is no review
    assert early.err == (
        f"opsbook: {incident_id}'s report still has Business Impact to fill in: opsbook incident "
        f"edit {incident_id} --business-impact '…' (or --force)\n"
    )
    ops("incident", "edit", incident_id, "--business-impact", "orders lost for 20 minutes")
    assert ops("incident", "phase", incident_id, "reviewed", "--as", "carol").code == 0
    md = ops("incident", "report", incident_id).out
    assert md.startswith(f"# Incident Report: {incident_id}\n")
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [
        f"Incident Report: {incident_id}", "Summary", "Timeline", "Impact", "Root Cause",
        "Resolution", "Prevention", "Lessons Learned",
    ]  # fmt: skip
    assert sum(1 for t in tokens if t.type == "table_open") == 2  # the timeline and the actions
    assert "- **Detection**: " in md
    assert "- **Response**: " in md and "acknowledged by bob" in md
    assert "- **Resolution**: " in md and "rolled back to v2.2" in md
    assert "Errors on /graphql after deploy" in md
    assert "a migration \\| locked orders" not in md.split("## Root Cause")[1].split("##")[0]
    assert "all checkout users" in md
    assert "raised SEV-2 → SEV-1: checkout down" in md
    assert "Add lock timeout to migrations" in md
    assert "Update the runbook with what" in md  # the automatic runbook action item
    lessons = md.split("## Lessons Learned")[1]
    assert "**To fill in:**" in lessons and "--lessons" in lessons
    assert md.index("v2.3 migration holds a lock") < md.index("rolled back to v2.2 |")
    out = tmp_path / "report.html"
    assert ops("incident", "report", incident_id, "-f", "html", "-o", str(out)).code == 0
    html = out.read_text()
    assert html.startswith("<!doctype html>")
    assert "<h2>Root Cause</h2>" in html
    assert "<table>" in html
    assert "http" not in html.split("<body>")[0]  # no external assets


def test_reviewed_can_be_forced_and_the_timeline_says_so(ops: Cli) -> None:
    incident_id = open_incident(ops, "--sev", "3", "--title", "slow /graphql")
    ops("incident", "resolve", incident_id, "--why", "went away")
    refused = ops("incident", "phase", incident_id, "reviewed")
    assert "Users Affected, Business Impact, Root Cause to fill in" in refused.err
    forced = ops("incident", "phase", incident_id, "reviewed", "--force")
    assert forced.code == 0, forced.err
    shown = json.loads(ops("incident", "show", incident_id, "-f", "json").out)
    bodies = [e["body"] for e in shown["timeline"]]
    unwritten = "Summary, Users Affected, Business Impact, Root Cause"
    assert f"marked reviewed with {unwritten} not written (--force)" in bodies


def test_edit_round_trips_through_the_editor(ops: Cli, tmp_path: Path) -> None:
    incident_id = open_incident(ops, "--sev", "3", "--title", "x")
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "t = p.read_text().replace('## lessons\\n', '## lessons\\nAlert on lock waits.\\n')\n"
        "p.write_text(t.replace('## root_cause\\n', '## root_cause\\nLong migration.\\n'))\n"
    )
    result = ops("incident", "edit", incident_id, env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.code == 0, result.err
    assert "updated root_cause, lessons" in result.out
    doc = json.loads(ops("incident", "show", incident_id, "-f", "json").out)
    assert doc["report"]["root_cause"] == "Long migration."
    assert doc["report"]["lessons"] == "Alert on lock waits."


def test_action_items_across_incidents(ops: Cli) -> None:
    a = open_incident(ops, "--sev", "2", "--title", "a")
    b = open_incident(ops, "--sev", "3", "--title", "b")
    first = json.loads(ops("incident", "action", "add", a, "disk alert", "--due", "2020-01-01",
                           "--owner", "bob", "-f", "json").out)  # fmt: skip
    ops("incident", "action", "add", b, "write docs", "--due", "30d", "--kind", "runbook")
    overdue = json.loads(ops("incident", "action", "list", "--overdue", "-f", "json").out)
    assert [i["id"] for i in overdue] == [first["id"]]
    assert overdue[0]["overdue"] is True
    assert ops("incident", "action", "done", str(first["id"])).code == 0
    assert json.loads(ops("incident", "action", "list", "--overdue", "-f", "json").out) == []
    open_items = json.loads(ops("incident", "action", "list", "--open", "-f", "json").out)
    assert [i["kind"] for i in open_items] == ["runbook"]
    twice = ops("incident", "action", "done", str(first["id"]))
    assert twice.code == 1
    assert "already done" in twice.err
    bad_due = ops("incident", "action", "add", a, "x", "--due", "someday")
    assert bad_due.code == 3
    assert "--due 'someday'" in bad_due.err


def test_severity_list_shows_runbook_defaults_and_overrides(
    ops: Cli, write_config: Callable[[str], Path]
) -> None:
    doc = json.loads(ops("severity", "list", "-f", "json").out)
    assert [(s["severity"], s["response"]) for s in doc] == [
        ("SEV-1", "15m"), ("SEV-2", "1h"), ("SEV-3", "4h"), ("SEV-4", "1d"),
    ]  # fmt: skip
    assert doc[0]["communication"] == "All stakeholders notified immediately"
    path = write_config("severities:\n  SEV-2:\n    response: 30m\n    name: Major\n")
    doc = json.loads(ops("severity", "list", "-c", str(path), "-f", "json").out)
    assert (doc[1]["name"], doc[1]["response"]) == ("Major", "30m")
    assert doc[1]["definition"].startswith("Major functionality degraded")
    opened = json.loads(
        ops("incident", "open", "-c", str(path), "-s", "2", "-t", "x", "-f", "json").out
    )
    due = datetime.fromisoformat(opened["response_due_at"])
    assert (due - datetime.fromisoformat(opened["opened_at"])).total_seconds() == 1800
    bad = write_config("severities:\n  SEV-5:\n    response: 1h\n")
    result = ops("severity", "list", "-c", str(bad))
    assert result.code == 3
    assert "severities.SEV-5: unknown severity" in result.err
