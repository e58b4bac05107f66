"""Retention keeps exactly what the rules say, and never the backups it must not touch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsbook.backups.catalog import Entry
from opsbook.backups.manifest import Encryption, EncryptionMode, Manifest
from opsbook.backups.retention import decide
from opsbook.config.backups import Keep

from .conftest import Cli, Env

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DAY = 86400.0


def _entry(at: datetime) -> Entry:
    manifest = Manifest(
        id=f"{at:%Y%m%dT%H%M%SZ}-db-0000", source="db", kind="postgres", target="t",
        started_at=at, finished_at=at, encryption=Encryption(mode=EncryptionMode.NONE),
        compression="zstd-3", artifacts=(),
    )  # fmt: skip
    return Entry(manifest, ("local",))


def _hourly(days: int) -> list[Entry]:
    return [_entry(NOW - timedelta(hours=h)) for h in range(days * 24)]


def test_the_runbooks_rules_every_backup_for_7_days_then_one_a_day_to_30() -> None:
    entries = _hourly(40)
    kept = {d.entry.id for d in decide(entries, Keep(), NOW, tz=UTC) if d.keep}
    recent = {e.id for e in entries if NOW - e.manifest.started_at < timedelta(days=7)}
    assert recent <= kept
    older = kept - recent
    # one per calendar day, the newest of that day (23:00), for days within 30 days
    assert all(e.endswith("T230000Z-db-0000") for e in older)
    days = sorted(e[:8] for e in older)
    assert days[0] == "20261030" and days[-1] == "20261121" and len(days) == len(set(days))
    assert len(kept) == len(recent) + 23


def test_weekly_and_monthly_tiers_keep_the_newest_of_each_period() -> None:
    entries = [_entry(NOW - timedelta(days=d)) for d in range(0, 120)]
    rules = Keep(all=0.0, daily=0.0, weekly=29 * DAY, monthly=120 * DAY)
    decisions = decide(entries, rules, NOW, tz=UTC)
    kept = sorted(d.entry.manifest.started_at.date().isoformat() for d in decisions if d.keep)
    # weeks (ISO, newest day of each): 11-29 (Sun), 11-22, 11-15, 11-08, 11-01 (partial: Nov 1)
    # months: 11-29, 10-31, 09-30, 08-31 and the oldest inside 120 days is 08-01 (Aug)
    assert kept == ["2026-08-31", "2026-09-30", "2026-10-31", "2026-11-01", "2026-11-08",
                    "2026-11-15", "2026-11-22", "2026-11-29"]  # fmt: skip
    why = {d.entry.manifest.started_at.date().isoformat(): d.why for d in decisions}
    assert why["2026-11-29"] == "newest, weekly for 2026-W48, monthly for 2026-11"
    assert why["2026-10-30"] == "outside every rule"


def test_days_follow_the_configured_time_zone() -> None:
    # 23:30 UTC on the 28th is already the 29th in Tokyo: the same day as the 10:00 UTC backup
    late = _entry(datetime(2026, 11, 20, 23, 30, tzinfo=UTC))
    morning = _entry(datetime(2026, 11, 21, 10, 0, tzinfo=UTC))
    rules = Keep(all=0.0, daily=30 * DAY)
    utc = {d.entry.id for d in decide([late, morning], rules, NOW, tz=UTC) if d.keep}
    tokyo = {d.entry.id for d in decide([late, morning], rules, NOW, tz=ZoneInfo("Asia/Tokyo"))
             if d.keep}  # fmt: skip
    assert utc == {late.id, morning.id}
    assert tokyo == {morning.id}


def test_newest_verified_and_in_use_backups_are_kept_whatever_the_rules() -> None:
    entries = [_entry(NOW - timedelta(days=d)) for d in (1, 50, 60, 70)]
    rules = Keep(all=0.0, daily=0.0)
    decisions = decide(entries, rules, NOW, tz=UTC, verified=[entries[2].id],
                       in_use=[entries[3].id])  # fmt: skip
    assert [(d.keep, d.why) for d in decisions] == [
        (True, "newest"),
        (False, "outside every rule"),
        (True, "newest verified"),
        (True, "being verified or restored"),
    ]


def test_prune_deletes_what_no_rule_keeps_and_records_it(ops: Cli, env: Env) -> None:
    env.standard(source={"keep": "{all: 0s, daily: 0s}"})
    ids = [ops("backup", "run", "db").out.strip() for _ in range(3)]
    assert ops("backup", "verify", ids[0], "-i", str(env.identity)).code == 0
    dry = json.loads(ops("backup", "prune", "--dry-run", "-f", "json").out)
    assert {d["id"]: d["keep"] for d in dry["decisions"]} == {
        ids[2]: True, ids[1]: False, ids[0]: True
    }  # fmt: skip
    assert len(json.loads(ops("backup", "list", "-f", "json").out)) == 3  # dry run: nothing gone
    done = ops("backup", "prune")
    assert done.code == 0, done.err
    assert "deleted" in done.out
    assert [b["id"] for b in json.loads(ops("backup", "list", "-f", "json").out)] == [
        ids[0],
        ids[2],
    ]
    assert not (env.root / "repo" / "db" / ids[1]).exists()
