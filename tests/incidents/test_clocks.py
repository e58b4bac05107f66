"""Response clocks and the numbers a team reviews, from real timelines."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from opsbook.incidents.clocks import Response, response_state, stats
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.records import read_timeline
from opsbook.incidents.severity import SeverityPolicy
from opsbook.stats import percentile

from .conftest import FakeClock


def test_response_states_follow_the_clock(
    service: Incidents, policy: SeverityPolicy, clock: FakeClock
) -> None:
    inc = service.open(title="x", severity=1, service="api", actor="a")  # 15 minutes
    assert response_state(inc, policy, clock.advance(minutes=5)) is Response.RUNNING
    assert response_state(inc, policy, clock.advance(minutes=7)) is Response.AT_RISK  # 3 m left
    assert response_state(inc, policy, clock.advance(minutes=4)) is Response.BREACHED
    late = service.acknowledge(inc.id, "bob")
    assert response_state(late, policy, clock.now) is Response.LATE
    quick = service.open(title="y", severity=1, service="api", actor="a")
    clock.advance(minutes=2)
    assert response_state(service.acknowledge(quick.id, "bob"), policy, clock.now) is Response.MET


def test_percentiles_use_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 50) == 5.0
    assert percentile(values, 90) == 9.0


def test_stats_per_severity(
    service: Incidents, policy: SeverityPolicy, clock: FakeClock, engine: Engine
) -> None:
    # Three SEV-2s: acked after 10, 20 and 90 minutes (target 60), resolved after 1, 2, 3 hours.
    for ack_min, resolve_h in ((10, 1), (20, 2), (90, 3)):
        start = clock.now
        inc = service.open(title="x", severity=2, service="api", actor="a")
        clock.advance(minutes=ack_min)
        service.acknowledge(inc.id, "bob")
        clock.now = start + timedelta(hours=resolve_h)
        service.resolve(inc.id, "fixed", "bob")
        clock.advance(hours=5)
    breached = service.open(title="nobody came", severity=1, service="api", actor="a")
    clock.advance(hours=1)
    found = service.list()
    rows = {s.severity: s for s in stats(
        found, read_timeline(engine, [i.id for i in found]), policy, clock.now
    )}  # fmt: skip
    sev2 = rows[2]
    assert sev2.count == 3
    assert sev2.mtta_median == 20 * 60
    assert sev2.mtta_p90 == 90 * 60
    assert sev2.mttr_median == 2 * 3600
    assert sev2.mttr_p90 == 3 * 3600
    assert sev2.acked_within_target == 2 / 3
    assert sev2.open_breaches == 0
    assert rows[1].count == 1
    assert rows[1].open_breaches == 1
    assert rows[1].mtta_median is None
    assert rows[1].acked_within_target == 0.0
    assert breached.id in {i.id for i in found}
    assert rows[4].count == 0


def test_mttr_counts_to_the_last_resolution_after_a_reopen(
    service: Incidents, policy: SeverityPolicy, clock: FakeClock, engine: Engine
) -> None:
    inc = service.open(title="x", severity=3, service="api", actor="a")
    clock.advance(hours=1)
    service.resolve(inc.id, "restart", "bob")
    clock.advance(hours=1)
    service.reopen(inc.id, "bob", "back")
    clock.advance(hours=2)
    service.resolve(inc.id, "real fix", "bob")
    found = service.list()
    [row] = [s for s in stats(found, read_timeline(engine, [inc.id]), policy, clock.now)
             if s.severity == 3]  # fmt: skip
    assert row.mttr_median == 4 * 3600
