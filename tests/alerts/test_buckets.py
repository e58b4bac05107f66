"""Results by hour (and by day) for every check in one query, on both stores: the worst
status of each bucket (CRITICAL beats UNKNOWN beats WARNING), the mean value, uptime; raw
results and rollups alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from opsbook.alerts.buckets import read_sparks
from opsbook.store.tables import check_results, check_rollups
from opsbook.store.tx import begin

NOW = datetime(2026, 12, 3, 12, 30, tzinfo=UTC)


def result(check: str, at: datetime, status: int, value: float | None) -> dict[str, object]:
    return {"check_name": check, "at": at, "status": status, "value": value,
            "duration_ms": 1.0, "message": "m"}  # fmt: skip


def test_each_hour_holds_its_worst_status_mean_value_and_the_day_its_uptime(
    engine: Engine,
) -> None:
    this_hour = NOW.replace(minute=5)
    rows = [
        result("api", this_hour, 0, 10.0),
        result("api", this_hour + timedelta(minutes=1), 3, 20.0),  # UNKNOWN
        result("api", this_hour + timedelta(minutes=2), 2, None),  # CRITICAL, no value
        result("api", this_hour - timedelta(hours=2), 1, 4.0),  # WARNING two hours back
        result("db", this_hour, 0, 1.0),
        result("api", NOW - timedelta(hours=30), 2, 1.0),  # before the day: not counted
    ]
    with begin(engine) as conn:
        conn.execute(insert(check_results), rows)
        conn.execute(insert(check_rollups), [{
            "check_name": "api", "bucket": this_hour - timedelta(hours=5), "samples": 10,
            "ok": 8, "warning": 0, "critical": 0, "unknown": 2, "value_min": 1.0,
            "value_max": 9.0, "value_avg": 5.0, "duration_avg_ms": 1.0}])  # fmt: skip
    sparks = read_sparks(engine, NOW)
    api = sparks["api"]
    assert len(api.worst) == 24
    assert api.worst[-1] == 2  # CRITICAL beats the UNKNOWN in the same hour
    assert api.mean[-1] == 15.0  # the mean of the values there were
    assert api.worst[-3] == 1 and api.mean[-3] == 4.0
    assert api.worst[-6] == 3 and api.mean[-6] == 5.0  # from the rollup
    assert api.worst[-2] is None
    assert api.uptime == (1 + 8) / (4 + 10)  # the results inside the day only
    assert sparks["db"].uptime == 1.0
    days = read_sparks(engine, NOW, size=86400, count=90, checks=["db"])
    assert set(days) == {"db"} and days["db"].worst[-1] == 0
