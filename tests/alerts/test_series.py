"""Every measurement of a result is stored, rolled up with the results, and read back as a
summary and as a series (both backends)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from opsbook.alerts import series
from opsbook.alerts.retention import roll_up
from opsbook.alerts.store import store_results
from opsbook.results import CheckKind, Metric, Result, Unit
from opsbook.status import Status
from opsbook.store.open import open_store
from opsbook.store.tables import check_metrics, metric_rollups
from tests.conftest import run_opsbook

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def result(at: datetime, busy: float, iowait: float) -> Result:
    return Result(
        name="cpu", kind=CheckKind.CPU, target="this host", status=Status.OK,
        message=f"{busy}% busy", value=busy, unit=Unit.PERCENT, duration=0.01, started_at=at,
        metrics=(Metric("iowait", iowait, Unit.PERCENT), Metric("steal", None, Unit.PERCENT),
                 Metric("user", float("nan"), Unit.PERCENT)),
    )  # fmt: skip


def fill(engine: Engine, start: datetime, values: list[tuple[float, float]]) -> None:
    with engine.begin() as conn:
        store_results(
            conn, [result(start + timedelta(minutes=i), b, w) for i, (b, w) in enumerate(values)]
        )


def test_every_measured_value_is_stored_and_summarized(engine: Engine) -> None:
    fill(engine, NOW - timedelta(minutes=10), [(10, 1), (30, 3), (20, 8)])
    found = {s.name: s for s in series.summaries(engine, "cpu", NOW - timedelta(hours=1))}
    assert list(found) == ["value", "iowait"]  # unmeasured (None, NaN) values are not stored
    assert (found["value"].minimum, found["value"].mean, found["value"].maximum) == (10, 20, 30)
    assert found["iowait"].samples == 3
    assert found["iowait"].latest == 8
    assert found["iowait"].mean == pytest.approx(4.0)


def test_rolled_up_measurements_still_count_in_summaries_and_series(engine: Engine) -> None:
    old = NOW - timedelta(hours=30)
    fill(engine, old, [(float(i), float(i * 2)) for i in range(10)])  # two 5-minute buckets
    fill(engine, NOW - timedelta(minutes=5), [(50.0, 100.0)])
    roll_up(engine, NOW, raw_keep_s=26 * 3600, rollup_keep_s=90 * 86400)
    with engine.connect() as conn:
        raw = conn.execute(select(func.count()).select_from(check_metrics)).scalar_one()
        buckets = conn.execute(
            select(metric_rollups.c.samples, metric_rollups.c.value_max)
            .where(metric_rollups.c.name == "iowait")
            .order_by(metric_rollups.c.bucket)
        ).all()
    assert raw == 1
    assert [tuple(b) for b in buckets] == [(5, 8.0), (5, 18.0)]
    roll_up(engine, NOW, 26 * 3600, 90 * 86400)  # nothing folded twice
    found = {s.name: s for s in series.summaries(engine, "cpu", NOW - timedelta(days=2))}
    assert found["iowait"].samples == 11
    assert found["iowait"].mean == pytest.approx((90 + 100) / 11)
    assert found["iowait"].maximum == 100
    points = series.series(engine, "cpu", "iowait", NOW - timedelta(days=2), NOW, 3600)
    assert [p.samples for p in points] == [10, 1]
    assert points[0].maximum == 18 and points[0].mean == pytest.approx(9.0)
    main = series.series(engine, "cpu", "value", NOW - timedelta(days=2), NOW, 3600)
    assert [p.maximum for p in main] == [9.0, 50.0]


def test_mean_between_compares_two_windows(engine: Engine) -> None:
    fill(engine, NOW - timedelta(days=8), [(10, 1)] * 3)
    fill(engine, NOW - timedelta(days=1), [(40, 1)] * 3)
    last_week = series.mean_between(engine, "cpu", "value", NOW - timedelta(days=14),
                                    NOW - timedelta(days=7))  # fmt: skip
    this_week = series.mean_between(engine, "cpu", "value", NOW - timedelta(days=7), NOW)
    assert last_week == (10, 3) and this_week == (40, 3)
    assert series.mean_between(engine, "cpu", "steal", NOW - timedelta(days=7), NOW) is None


def test_history_lists_every_measurement_and_one_over_time(tmp_path: Path) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"store: sqlite:///{tmp_path}/s.db\nchecks:\n  cpu: {{type: cpu}}\n")
    engine = open_store(f"sqlite:///{tmp_path}/s.db").engine
    now = datetime.now(UTC)
    fill(engine, now - timedelta(minutes=30), [(10, 1), (30, 3), (20, 8)])
    listed = run_opsbook("history", "cpu", "--since", "1h", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    assert "MEASUREMENT" in listed.stdout and "iowait" in listed.stdout
    listed_json = run_opsbook("history", "cpu", "-f", "json", "--config", str(config))
    as_json = json.loads(listed_json.stdout)
    iowait = next(m for m in as_json["measurements"] if m["name"] == "iowait")
    assert (iowait["min"], iowait["max"], iowait["latest"]) == (1, 8, 8)
    over = run_opsbook("history", "cpu", "--metric", "iowait", "--step", "1m", "-f", "json",
                       "--config", str(config))  # fmt: skip
    points = json.loads(over.stdout)["points"]
    assert [p["max"] for p in points] == [1, 3, 8] and json.loads(over.stdout)["step_seconds"] == 60
    wrong = run_opsbook("history", "cpu", "--metric", "iowiat", "--config", str(config))
    assert wrong.returncode != 0
    assert "no measurement 'iowiat'" in wrong.stderr and "iowait" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
