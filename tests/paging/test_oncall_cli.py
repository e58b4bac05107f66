"""`opsbook oncall now / show / override`."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, Write

Cli = Callable[..., CliResult]
CONFIG = """
timezone: Europe/Paris
people:
  alice: {email: alice@example.com, timezone: Europe/Paris}
  bob: {email: bob@example.com, timezone: America/New_York}
  carol: {email: carol@example.com}
schedules:
  primary:
    timezone: Europe/Paris
    rotation: weekly
    handoff: monday 09:00
    start: 2026-01-05
    members: [alice, bob]
"""


@pytest.fixture
def ops(cli: Cli, tmp_path: Path, write_config: Write, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("OPSBOOK_STORE", f"sqlite:///{tmp_path / 'ops.db'}")
    monkeypatch.setenv("OPSBOOK_CONFIG", str(write_config(CONFIG)))
    return cli


def test_now_at_a_time_has_the_json_shape(ops: Cli) -> None:
    result = ops("oncall", "now", "primary", "--at", "2026-03-30T07:30:00+00:00", "-f", "json")
    assert result.code == 0, result.err
    [row] = json.loads(result.out)
    assert {"schedule", "person", "from", "until"} <= set(row)
    assert (row["schedule"], row["person"]) == ("primary", "alice")
    assert row["from"] == "2026-03-30T07:00:00+00:00"  # 09:00 Paris summer time
    assert row["until"] == "2026-04-06T07:00:00+00:00"
    table = ops("oncall", "now", "--at", "2026-03-30T06:30:00+00:00")
    assert table.out.startswith(
        "primary: bob, since 2026-03-23 09:00 CET, until 2026-03-30 09:00 CEST"
    )


def test_overrides_are_stored_listed_applied_and_removable(ops: Cli) -> None:
    at = "2027-03-31T20:00:00+00:00"
    rotation = json.loads(ops("oncall", "now", "--at", at, "-f", "json").out)[0]["person"]
    added = ops("oncall", "override", "add", "primary", "--who", "carol",
                "--from", "2027-03-31T18:00:00+00:00", "--to", "2027-04-01T06:00:00+00:00",
                "-f", "json")  # fmt: skip
    assert added.code == 0, added.err
    override_id = json.loads(added.out)["id"]
    during = json.loads(ops("oncall", "now", "--at", at, "-f", "json").out)
    assert during[0]["person"] == "carol" and during[0]["override"] == override_id
    assert "carol" in ops("oncall", "override", "list").out
    assert ops("oncall", "override", "remove", str(override_id)).code == 0
    after = json.loads(ops("oncall", "now", "--at", at, "-f", "json").out)
    assert after[0]["person"] == rotation != "carol"
    assert ops("oncall", "override", "remove", str(override_id)).code == 1
    bad = ops("oncall", "override", "add", "primary", "--who", "zed", "--from", "2026-04-01",
              "--to", "2026-04-02")  # fmt: skip
    assert bad.code == 3 and "no person 'zed'" in bad.err


def test_show_lists_who_covers_what(ops: Cli) -> None:
    result = ops("oncall", "show", "primary", "--days", "14", "-f", "json")
    rows = json.loads(result.out)
    assert len(rows) >= 2
    assert {r["person"] for r in rows} == {"alice", "bob"}
    for earlier, later in itertools.pairwise(rows):
        assert earlier["until"] == later["from"]  # consecutive coverage
    text = ops("oncall", "show", "primary", "--days", "7")
    assert " → " in text.out and "primary: " in text.out
    assert ops("oncall", "show", "nope").code == 3
