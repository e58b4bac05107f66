"""The capacity review on stored history with a known trend: the answer is checked, a spike
does not move it, a flat series is not heading anywhere, a short one says so; the HTML page
is self-contained."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from opsbook.stats import theil_sen
from opsbook.store.open import open_store
from opsbook.store.tables import check_metrics
from tests.conftest import CliResult


def test_theil_sen_ignores_a_spike() -> None:
    xs = [float(x) for x in range(20)]
    ys = [60.0 + x for x in xs]
    ys[7] = 99.0  # a backup filled the disk for an hour
    fit = theil_sen(xs, ys)
    assert fit is not None
    slope, intercept, low, high = fit
    assert slope == 1.0 and intercept == 60.0
    assert low <= 1.0 <= high


def _history(store: str, now: datetime) -> None:
    rows = []
    start = (now - timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(21):
        for hour in range(0, 24, 3):
            at = start + timedelta(days=day, hours=hour)
            if at > now:
                break
            peak = hour == 15  # the day's maximum, in the afternoon
            rows.append({"check_name": "root", "name": "used", "at": at,
                         "value": 60.0 + day * 1.0 if peak else 50.0})  # fmt: skip
            rows.append({"check_name": "mem", "name": "used", "at": at, "value": 40.0})
            if day >= 18:
                rows.append({"check_name": "cache", "name": "memory_used", "at": at,
                             "value": 30.0 + day})  # fmt: skip
    rows.append({"check_name": "root", "name": "used", "at": start + timedelta(days=9, hours=4),
                 "value": 99.0})  # a spike  # fmt: skip
    opened = open_store(store)
    with opened.engine.begin() as conn:
        conn.execute(insert(check_metrics), rows)
    opened.engine.dispose()


def test_the_capacity_review_forecasts_from_the_stored_history(
    tmp_path: Path, cli: CliResult, store_url: str
) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"""
store: {store_url}
checks:
  root: {{type: disk, path: /}}
  mem: {{type: memory}}
  cache: {{type: redis, url: "redis://127.0.0.1:1"}}
jobs:
  capacity:
    action: capacity-review
    schedule: "0 9 1 * *"
""")
    now = datetime.now(UTC).replace(hour=16, minute=0)  # after today's peak
    if now > datetime.now(UTC):
        now -= timedelta(days=1)
    _history(store_url, now)
    result = cli("report", "capacity", "-f", "json", "--config", str(config))
    assert result.code == 1  # the disk fills within 30 days: WARNING
    found = {f["series"]: f for f in json.loads(result.out)["figures"]["forecasts"]}
    disk = found["root.used"]
    assert disk["slope_per_day"] == 1.0
    # 60 % on the first day, +1 %/day: 100 % is 40 days after that day began, counted from
    # the moment the report runs (the history ends at yesterday's or today's 16:00)
    first_day = (now - timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (datetime.now(UTC) - first_day).total_seconds() / 86400
    assert disk["days_left"] == pytest.approx(40 - elapsed, abs=0.05)
    assert disk["earliest"] <= disk["days_left"] <= disk["latest"]
    assert found["mem.used"]["slope_per_day"] == 0.0 and found["mem.used"]["days_left"] is None
    assert found["cache.memory_used"]["why_not"] == (
        "not enough history: 3 day(s) of data, 7 needed"
    )
    text = cli("report", "capacity", "--config", str(config)).out
    assert re.search(r"root\.used: 8\d\.\d % now, \+1\.0 %/day; reaches 100\.0 % in \d+ days", text)
    html_file = tmp_path / "capacity.html"
    cli("report", "capacity", "-f", "html", "-o", str(html_file), "--config", str(config))
    html = html_file.read_text()
    assert html.count("<svg") == 2  # root and mem: the short series has no chart
    assert not re.search(r"<(script|link)\b|src=\"http", html)
