"""Results are kept raw for a while, then folded into 5-minute rollups (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from opsbook.alerts.history import read_history
from opsbook.alerts.retention import roll_up
from opsbook.config.loader import parse_config
from opsbook.status import Status
from opsbook.store.tables import check_results, check_rollups

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def results(engine: Engine, start: datetime, statuses: list[int], every: int = 60) -> None:
    rows = [
        {"check_name": "cache", "at": start + timedelta(seconds=i * every), "status": s,
         "value": float(i), "duration_ms": 2.0, "message": f"r{i}"}
        for i, s in enumerate(statuses)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(check_results), rows)


def test_old_results_fold_into_rollups_and_history_still_counts_them(engine: Engine) -> None:
    old = NOW - timedelta(hours=30)  # older than the 26 h raw horizon
    results(engine, old, [0] * 8 + [2, 2])  # ten minutes: two 5-minute buckets
    results(engine, NOW - timedelta(hours=1), [0, 0, 2, 2, 0])
    folded = roll_up(engine, NOW, raw_keep_s=26 * 3600, rollup_keep_s=90 * 86400)
    assert folded == 10
    with engine.connect() as conn:
        raw = conn.execute(select(func.count()).select_from(check_results)).scalar_one()
        buckets = conn.execute(
            select(check_rollups.c.samples, check_rollups.c.ok, check_rollups.c.critical,
                   check_rollups.c.value_max).order_by(check_rollups.c.bucket)
        ).all()  # fmt: skip
    assert raw == 5
    assert [tuple(b) for b in buckets] == [(5, 5, 0, 4.0), (5, 3, 2, 9.0)]
    assert roll_up(engine, NOW, 26 * 3600, 90 * 86400) == 0  # nothing counted twice
    history = read_history(engine, "cache", NOW - timedelta(days=2))
    assert history.total == 15
    assert history.counts[Status.CRITICAL] == 4
    assert history.uptime == pytest.approx(11 / 15)
    assert [p.status for p in history.periods] == [Status.OK, Status.CRITICAL, Status.OK]


def test_rollups_older_than_their_retention_go(engine: Engine) -> None:
    results(engine, NOW - timedelta(days=100), [0, 0, 0])
    roll_up(engine, NOW, 26 * 3600, 90 * 86400)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(check_rollups)).scalar_one() == 0


def test_the_daemon_keys_work_as_written(tmp_path: Path) -> None:
    text = """\
store: sqlite:////var/lib/opsbook/opsbook.db
server:
  listen: 127.0.0.1:9184
intake:
  token: ${OPSBOOK_INTAKE_TOKEN}
checks:
  cache:
    type: redis
    url: redis://127.0.0.1:6379/0
    interval: 1s
    for: 0s
    severity: SEV-1
"""
    loaded = parse_config(text, "opsbook.yaml", env={"OPSBOOK_INTAKE_TOKEN": "t" * 32})
    config = loaded.config
    assert config.store == "sqlite:////var/lib/opsbook/opsbook.db"
    assert config.server.listen == "127.0.0.1:9184"
    assert config.intake.token == "t" * 32
    cache = config.checks["cache"]
    assert (cache.interval, cache.pending_for, cache.severity.critical) == (1.0, 0.0, 1)
    assert loaded.redactor("token=" + "t" * 32) == "token=***"
