"""The escalation checked before it is needed: each kind of hole is found, with its window."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook.config.model import validate
from opsbook.paging.coverage import check
from tests.conftest import run_opsbook

MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Paris


def paging(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "people": {
            "alice": {"email": "alice@example.com"},
            "carol": {"slack": "https://hooks.slack.com/services/x"},
            "dave": {"email": "dave@example.com"},
        },
        "schedules": {
            "primary": {"members": ["alice"], "rotation": "weekly", "handoff": "monday 09:00"},
            "secondary": {
                "members": ["carol"],
                "restrictions": [
                    {
                        "days": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                        "from": "09:00",
                        "to": "18:00",
                    }
                ],
            },
        },
        "escalation": [
            {"who": ["primary"], "name": "on-call"},
            {"who": ["secondary"], "name": "backup"},
        ],
        "channels": {"mail": {"type": "email", "host": "127.0.0.1", "from": "ops@example.com"}},
    }
    doc.update(extra)
    return doc


def covered(doc: dict[str, Any], days: int = 7) -> Any:
    config, problems = validate(doc)
    assert config is not None, problems
    return check(config.paging, config.timezone, MONDAY, days)


def test_a_business_hours_layer_leaves_nights_and_weekends_open_at_its_level() -> None:
    cov = covered(paging())
    assert {h.level for h in cov.holes} == {2}
    first = cov.holes[0]
    assert first.why == "schedule 'secondary' has nobody on duty (its restrictions)"
    assert (first.start, first.end) == (datetime(2026, 12, 7, 17, 0, tzinfo=UTC),
                                        datetime(2026, 12, 8, 8, 0, tzinfo=UTC))  # fmt: skip
    weekend = next(h for h in cov.holes if h.start.weekday() == 4)  # Friday 18:00
    assert weekend.end == datetime(2026, 12, 14, 8, 0, tzinfo=UTC)  # to Monday 09:00
    assert cov.worst(strict=False) == 1 and cov.worst(strict=True) == 3


def test_a_person_whose_contact_no_channel_delivers_is_a_level_1_error() -> None:
    doc = paging()
    del doc["channels"]
    cov = covered(doc)
    level1 = [h for h in cov.holes if h.level == 1]
    assert level1 and level1[0].why == "alice: email address but no email channel"
    assert level1[0].error and cov.worst(strict=False) == 3


def test_someone_covering_for_an_unreachable_colleague_is_a_warning_not_a_hole() -> None:
    doc = paging(escalation=[{"who": ["primary", "dave"]}, {"who": ["carol"]}])
    doc["channels"] = {}
    doc["people"]["alice"] = {"slack": "https://hooks.slack.com/services/a"}
    cov = covered(doc)
    assert cov.holes == ()
    assert cov.unreachable == ("dave: email address but no email channel",)
    assert cov.worst(strict=False) == 1


def test_a_fully_covered_escalation_exits_0_and_validate_names_the_window(
    tmp_path: Path,
) -> None:
    whole = paging(escalation=[{"who": ["primary"]}, {"who": ["carol"]}])
    assert covered(whole).worst(strict=False) == 0
    path = tmp_path / "opsbook.yaml"
    path.write_text(json.dumps(paging()))  # JSON is YAML
    done = run_opsbook("config", "validate", "--config", str(path))
    assert done.returncode == 1, done.stderr
    assert "warning: SEV-1..3 level 2 (backup)" in done.stdout
    assert "has nobody on duty (its restrictions)" in done.stdout
    assert "alice:" in done.stdout and "reached_through" in done.stdout
    doc = json.loads(run_opsbook("config", "validate", "--config", str(path), "-f",
                                 "json").stdout)  # fmt: skip
    assert doc["coverage"]["status"] == "warning"
    assert doc["escalation"]["SEV-1"][1]["paged_after"] == "15m"  # SEV-1: within 15 minutes
    assert doc["people"]["carol"]["reached_through"] == ["person-slack"]
    assert doc["schedules"]["primary"][0]["person"] == "alice"
    coverage = run_opsbook("oncall", "coverage", "--config", str(path), "-f", "json")
    assert coverage.returncode == 1
    assert json.loads(coverage.stdout)["holes"][0]["why"].startswith("schedule 'secondary'")
