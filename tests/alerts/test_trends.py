"""Trend rules over a stored history with a known degradation and a known spike (both
backends), and the daemon turning them into SEV-4 alerts that resolve themselves."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from opsbook.alerts.retention import roll_up
from opsbook.alerts.store import store_results
from opsbook.alerts.trends import Verdict, evaluate
from opsbook.config.loader import load_config
from opsbook.config.model import validate
from opsbook.config.trends import TrendsConfig
from opsbook.daemon.main import Daemon
from opsbook.results import CheckKind, Metric, Result, Unit
from opsbook.status import Status
from opsbook.store.open import open_store
from tests.conftest import run_opsbook
from tests.support.store import FakeClock

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def result(check: str, at: datetime, value: float, **metrics: float) -> Result:
    return Result(check, CheckKind.LOG, "access.log", Status.OK, "ok", value, Unit.SECONDS, 0.01,
                  at, tuple(Metric(n, v, Unit.SECONDS) for n, v in metrics.items()))  # fmt: skip


def hourly(engine: Engine, check: str, start: datetime, hours: int, **series: float) -> None:
    """One result an hour; every series with a little noise around its level."""
    noise = random.Random(7)
    rows = [
        result(check, start + timedelta(hours=h), 0.0,
               **{n: v * (1 + noise.uniform(-0.05, 0.05)) for n, v in series.items()})
        for h in range(hours)
    ]  # fmt: skip
    with engine.begin() as conn:
        store_results(conn, rows)


def rules(spec: dict[str, object]) -> TrendsConfig:
    config, problems = validate({"checks": {"api": {"type": "memory"}, "cpu": {"type": "cpu"}},
                                 "trends": spec})  # fmt: skip
    assert config is not None, problems
    return config.trends


def test_a_route_slower_this_week_is_degraded_and_the_steady_one_is_not(engine: Engine) -> None:
    week = timedelta(days=7)
    hourly(engine, "api", NOW - 2 * week, 168, route_a_p95=0.20, route_b_p95=0.30, errors=1.0)
    hourly(engine, "api", NOW - week, 168, route_a_p95=0.50, route_b_p95=0.31, errors=1.01)
    roll_up(engine, NOW, 26 * 3600, 90 * 86400)  # most of it from the rollups, as in life
    found = {f.metric: f for f in evaluate(engine, rules({"degradation": {
        "slower": {"check": "api", "metric": "route_*_p95", "factor": 1.5}}}), NOW)}  # fmt: skip
    assert set(found) == {"route_a_p95", "route_b_p95"}  # the glob, each judged alone
    slow = found["route_a_p95"]
    assert slow.verdict is Verdict.DEGRADED and slow.ratio == pytest.approx(2.5, rel=0.05)
    # the same on both backends: a rollup bucket at a window's very start is inside it
    assert slow.summary == ("api route_a_p95: 0.4999 over the last 7d, 2.50× the 0.2 of the 7d "
                            "before (worse; degraded at 1.5×)")  # fmt: skip
    assert found["route_b_p95"].verdict is Verdict.STEADY
    assert slow.severity == 4  # informational by default


def test_a_small_absolute_change_or_too_little_history_is_not_news(engine: Engine) -> None:
    week = timedelta(days=7)
    hourly(engine, "api", NOW - 2 * week, 168, fast=0.001)
    hourly(engine, "api", NOW - week, 168, fast=0.002)
    hourly(engine, "api", NOW - timedelta(hours=5), 5, young=1.0)
    spec = {"degradation": {"tiny": {"check": "api", "metric": "fast", "min_change": 0.05},
                            "new": {"check": "api", "metric": "young"}}}  # fmt: skip
    found = {f.rule: f for f in evaluate(engine, rules(spec), NOW)}
    assert found["tiny"].verdict is Verdict.STEADY  # twice as slow, but by 1 ms
    assert found["new"].verdict is Verdict.LEARNING and "0 of 12 samples" in found["new"].summary


def test_lower_is_worse_for_throughput(engine: Engine) -> None:
    week = timedelta(days=7)
    hourly(engine, "api", NOW - 2 * week, 168, requests=100.0)
    hourly(engine, "api", NOW - week, 168, requests=40.0)
    spec = {"degradation": {"quieter": {"check": "api", "metric": "requests", "direction": "down"}}}
    [finding] = evaluate(engine, rules(spec), NOW)
    assert finding.verdict is Verdict.DEGRADED


def cpu_history(engine: Engine, recent: float, now: datetime = NOW, name: str = "cpu") -> None:
    """A week at 20 % ± 2 (rolled up), then the last 15 minutes at ``recent``."""
    noise = random.Random(3)
    start = now - timedelta(days=7)
    rows = [Result(name, CheckKind.CPU, "host", Status.OK, "", 20 + noise.uniform(-2, 2),
                   Unit.PERCENT, 0.01, start + timedelta(minutes=m))
            for m in range(0, 7 * 1440 - 15, 5)]  # fmt: skip
    rows += [Result(name, CheckKind.CPU, "host", Status.OK, "", recent, Unit.PERCENT, 0.01,
                    now - timedelta(minutes=14 - m)) for m in range(14)]  # fmt: skip
    with engine.begin() as conn:
        store_results(conn, rows)
    roll_up(engine, now, 26 * 3600, 90 * 86400)


@pytest.mark.parametrize(("recent", "verdict"), [(55.0, Verdict.DEGRADED), (21.0, Verdict.STEADY)])
def test_a_cpu_spike_out_of_its_usual_band(engine: Engine, recent: float, verdict: Verdict) -> None:
    cpu_history(engine, recent)
    [finding] = evaluate(engine, rules({"spikes": {"cpu": {"check": "cpu"}}}), NOW)
    assert finding.verdict is verdict, finding.summary
    assert finding.low is not None and finding.high is not None
    assert finding.low < 20 < finding.high < 40
    if verdict is Verdict.DEGRADED:
        assert "above its usual" in finding.summary


def test_a_trend_rule_on_a_check_that_does_not_exist_is_a_config_error() -> None:
    config, problems = validate({"checks": {"api": {"type": "memory"}},
                                 "trends": {"spikes": {"x": {"check": "apii"}}}})  # fmt: skip
    assert config is None
    [problem] = problems
    assert problem.path == ("trends", "spikes", "x", "check")
    assert problem.message == "no check named 'apii' (checks: api)"


def test_the_daemon_fires_a_sev4_alert_for_a_spike_and_resolves_it(tmp_path: Path) -> None:
    (tmp_path / "opsbook.yaml").write_text(f"""
store: sqlite:///{tmp_path}/opsbook.db
checks:
  cpu: {{type: cpu}}
trends:
  spikes:
    cpu-spike: {{check: cpu}}
""")
    loaded = load_config(str(tmp_path / "opsbook.yaml"))
    clock = FakeClock(NOW)
    d = Daemon(loaded, open_store(loaded.config.store), clock=clock)
    cpu_history(d.engine, 60.0)

    async def steps() -> tuple[object, object]:
        await d.open()
        try:
            await d.housekeep()
            fired = d.processor.alerts["trend:cpu-spike:cpu:value"]
            with d.engine.begin() as conn:  # calm again: the last quarter hour back at 20 %
                store_results(conn, [Result("cpu", CheckKind.CPU, "host", Status.OK, "", 20.0,
                                            Unit.PERCENT, 0.01, NOW + timedelta(minutes=m))
                                     for m in range(16)])  # fmt: skip
            clock.advance(minutes=16)
            d.trends._last = float("-inf")  # the next round now, not in 5 minutes
            await d.housekeep()
            return fired, d.processor.alerts["trend:cpu-spike:cpu:value"]
        finally:
            d.store_thread.shutdown(wait=True)

    fired, later = asyncio.run(steps())
    assert fired.state.value == "firing" and fired.severity == 4  # type: ignore[attr-defined]
    assert "above its usual" in fired.summary  # type: ignore[attr-defined]
    assert later.state.value == "inactive"  # type: ignore[attr-defined]
    assert all(i.severity == 4 for i in d.incidents.list())  # recorded, never above SEV-4


def test_trends_show_lists_the_spike_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"store: sqlite:///{tmp_path}/s.db\nchecks:\n  cpu: {{type: cpu}}\n"
                      "trends:\n  spikes:\n    cpu-spike: {check: cpu}\n")  # fmt: skip
    cpu_history(open_store(f"sqlite:///{tmp_path}/s.db").engine, 70.0, datetime.now(UTC))
    shown = run_opsbook("trends", "show", "--config", str(config))
    assert shown.returncode == 1, shown.stderr
    assert "cpu-spike" in shown.stdout and "degraded" in shown.stdout
    assert "above its usual" in shown.stdout
    as_json = json.loads(
        run_opsbook("trends", "show", "-f", "json", "--config", str(config)).stdout
    )
    assert as_json["degraded"] == 1 and as_json["findings"][0]["band"][0] < 20
    bare = tmp_path / "bare.yaml"
    bare.write_text(f"store: sqlite:///{tmp_path}/s.db\n")
    none = run_opsbook("trends", "show", "--config", str(bare))
    assert none.returncode != 0 and "has no trends: rules" in none.stderr


def test_a_rule_on_a_host_check_of_a_deployment_judges_each_host_alone(engine: Engine) -> None:
    cpu_history(engine, 60.0, name="cpu@host-a")  # this host spikes
    cpu_history(engine, 21.0, name="cpu@host-b")  # this one does not
    found = {f.check: f for f in evaluate(engine, rules({"spikes": {"cpu": {"check": "cpu"}}}),
                                          NOW)}  # fmt: skip
    assert set(found) == {"cpu@host-a", "cpu@host-b"}
    assert found["cpu@host-a"].verdict is Verdict.DEGRADED
    assert found["cpu@host-b"].verdict is Verdict.STEADY
    assert found["cpu@host-a"].fingerprint != found["cpu@host-b"].fingerprint
