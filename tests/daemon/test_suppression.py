"""Silences and maintenance windows against a real daemon; MTTR leaves windows out."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsbook.alerts.windows import open_window
from opsbook.config.model import validate
from tests.support.daemon import Daemon
from tests.support.servers import RedisServer


def opsbook(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return d.run(*args, user="alice")


@pytest.fixture
def daemon_for(tmp_path: Path) -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        d.close()


def test_a_silenced_alert_records_but_opens_nothing_until_the_silence_ends(
    tmp_path: Path, redis_fresh: RedisServer, daemon_for: list[Daemon]
) -> None:
    d = Daemon(tmp_path, f"""
checks:
  cache:
    type: redis
    url: {redis_fresh.url()}
    interval: 1s
""")  # fmt: skip
    daemon_for.append(d)
    # long enough for a loaded machine to start the daemon and see the alert inside it
    added = opsbook(d, "silence", "add", "cache", "--for", "15s", "--why", "redis upgrade",
                    "--format", "json")  # fmt: skip
    assert added.returncode == 0, added.stderr
    silence_id = json.loads(added.stdout)["id"]
    d.start()
    redis_fresh.stop()
    d.wait_for(lambda: d.alert("check:cache") is not None and d.alert("check:cache").suppressed,
               "the alert to fire, silenced")  # fmt: skip
    assert d.incidents() == []
    listed = json.loads(opsbook(d, "alerts", "--format", "json", "--events", "10").stdout)
    assert listed["alerts"][0]["state"] == "firing"
    assert listed["alerts"][0]["suppressed"] is True
    assert any(e["kind"] == "silenced" and "redis upgrade" in e["summary"]
               for e in listed["events"])  # fmt: skip
    # the silence ends while the alert still fires: now the incident opens
    [incident] = d.wait_for(d.incidents, "the incident after the silence", timeout=30)
    assert incident.severity == 2
    assert opsbook(d, "silence", "list", "--format", "json").stdout.strip() == "[]"
    assert opsbook(d, "silence", "expire", str(silence_id)).returncode == 1  # already over


def test_expiring_a_silence_early_lets_the_alert_page(
    tmp_path: Path, redis_fresh: RedisServer, daemon_for: list[Daemon]
) -> None:
    d = Daemon(tmp_path, f"""
checks:
  cache:
    type: redis
    url: {redis_fresh.url()}
    interval: 1s
""")  # fmt: skip
    daemon_for.append(d)
    added = json.loads(opsbook(d, "silence", "add", "cach*", "--for", "2h", "--why", "x",
                               "-f", "json").stdout)  # fmt: skip
    d.start()
    redis_fresh.stop()
    d.wait_for(lambda: d.alert("check:cache") is not None and d.alert("check:cache").suppressed,
               "silenced firing")  # fmt: skip
    d.wait_runs("cache", 2, "CRITICAL")  # still failing, still silenced
    assert d.incidents() == []
    assert opsbook(d, "silence", "expire", str(added["id"])).returncode == 0
    [incident] = d.wait_for(d.incidents, "the incident once the silence is expired")
    # silencing it again, with the incident open, goes on the timeline
    assert opsbook(d, "silence", "add", "cache", "--for", "1h", "--why", "known").returncode == 0
    d.wait_for(lambda: any("silenced: silence #" in e.body for e in d.timeline(incident.id)),
               "the silence on the timeline")  # fmt: skip


def test_a_maintenance_window_suppresses_and_history_shows_the_outage(
    tmp_path: Path, redis_fresh: RedisServer, daemon_for: list[Daemon]
) -> None:
    now = datetime.now(UTC)
    start = (now - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    end = (now + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
    d = Daemon(tmp_path, f"""
maintenance:
  - name: redis-upgrade
    checks: [cache]
    start: "{start}"
    end: "{end}"
    timezone: UTC
checks:
  cache:
    type: redis
    url: {redis_fresh.url()}
    interval: 1s
    for: 0s
""")  # fmt: skip
    daemon_for.append(d)
    d.start()
    d.wait_runs("cache", 2, "OK")
    redis_fresh.stop()
    d.wait_for(lambda: d.alert("check:cache") is not None and d.alert("check:cache").suppressed,
               "suppressed by the window")  # fmt: skip
    d.wait_runs("cache", 2, "CRITICAL")
    assert d.incidents() == []
    events = json.loads(opsbook(d, "alerts", "-f", "json", "--events", "5").stdout)["events"]
    assert any("maintenance window redis-upgrade" in e["summary"] for e in events)
    redis_fresh.start()
    d.wait_runs("cache", 1, "OK")
    hist = json.loads(opsbook(d, "history", "cache", "--since", "1h", "-f", "json").stdout)
    statuses = [p["status"] for p in hist["periods"]]
    assert statuses[0] == "OK" and "CRITICAL" in statuses and statuses[-1] == "OK"
    assert 0 < hist["uptime"] < 1
    table = opsbook(d, "history", "cache", "--since", "7d")
    # a week asked, a minute of data: it says since when there is data, not "since 7 days ago"
    assert "% OK since" in table.stdout and "when its data starts (asked from" in table.stdout
    assert hist["data_from"] is not None and hist["data_from"] > hist["since"]


def test_recurring_windows_follow_the_wall_clock_across_dst() -> None:
    config, problems = validate({"maintenance": [{
        "name": "weekly", "every": "sunday", "at": "02:30", "duration": "1h",
        "timezone": "Europe/Paris",
    }]})  # fmt: skip
    assert not problems and config is not None
    windows = config.maintenance

    def is_open(utc: str) -> bool:
        return open_window(windows, "any", datetime.fromisoformat(utc), None) is not None

    # winter: 02:30 Paris = 01:30 UTC
    assert is_open("2026-03-22T01:45:00+00:00")
    assert not is_open("2026-03-22T00:45:00+00:00")
    # summer (after 2026-03-29): 02:30 Paris = 00:30 UTC
    assert is_open("2026-04-05T00:45:00+00:00")
    assert not is_open("2026-04-05T01:45:00+00:00")
    # the autumn change (2026-10-25): the first 02:30 (summer time) = 00:30 UTC
    assert is_open("2026-10-25T00:45:00+00:00")
    # Saturdays never
    assert not is_open("2026-04-04T00:45:00+00:00")


def test_bad_windows_are_config_errors() -> None:
    _, problems = validate({"maintenance": [{"name": "x", "every": "sunday", "at": "25:00",
                                             "duration": "1h"}]})  # fmt: skip
    assert problems[0].path == ("maintenance", 0, "at")
    assert problems[0].message == "expected a time such as 02:00, got '25:00'"
    _, problems = validate({"maintenance": [{"name": "x", "start": "2026-12-01 22:00"}]})
    assert "needs both start: and end:" in problems[0].message
