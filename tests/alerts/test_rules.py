"""The alert state machine (a pure function; no server needed to exercise it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsbook.alerts.model import Alert, AlertState, EventKind, Rule, Source
from opsbook.alerts.rules import FLAP_HIGH, evaluate
from opsbook.status import Status

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
OK, WARN, CRIT, UNKNOWN = Status.OK, Status.WARNING, Status.CRITICAL, Status.UNKNOWN


def rule(**kw: float) -> Rule:
    base = {"pending_for": 60.0, "keep_firing_for": 0.0, "critical_severity": 1,
            "warning_severity": 3, "auto_resolve": None}  # fmt: skip
    return Rule(**{**base, **kw})  # type: ignore[arg-type]


def run(r: Rule, *steps: tuple[float, Status]) -> tuple[Alert, list[list[EventKind]]]:
    alert = Alert("check:x", Source.CHECK, "x", {})
    kinds = []
    for seconds, status in steps:
        alert, events = evaluate(
            alert, status, f"status {status.name}", r, T0 + timedelta(seconds=seconds)
        )
        kinds.append([e.kind for e in events])
    return alert, kinds


def test_a_bad_state_is_pending_until_held_for_the_pending_time() -> None:
    alert, kinds = run(rule(), (0, CRIT), (30, CRIT), (60, CRIT))
    assert kinds == [[EventKind.PENDING], [], [EventKind.FIRING]]
    assert alert.state is AlertState.FIRING
    assert alert.severity == 1


def test_recovering_while_pending_never_fires() -> None:
    alert, kinds = run(rule(), (0, CRIT), (30, OK), (90, OK))
    assert kinds == [[EventKind.PENDING], [], []]
    assert alert.state is AlertState.INACTIVE


def test_for_zero_fires_at_once() -> None:
    alert, kinds = run(rule(pending_for=0), (0, CRIT))
    assert kinds == [[EventKind.PENDING, EventKind.FIRING]]
    assert alert.state is AlertState.FIRING


def test_warning_uses_the_warning_severity_and_escalates_to_critical() -> None:
    alert, kinds = run(rule(pending_for=0), (0, WARN), (10, CRIT), (20, WARN))
    assert kinds == [[EventKind.PENDING, EventKind.FIRING], [EventKind.ESCALATED], []]
    assert alert.severity == 1  # never lowered by itself
    assert alert.level is CRIT


def test_it_fires_at_the_severity_and_with_the_words_of_one_result() -> None:
    r = rule()
    alert = Alert("check:x", Source.CHECK, "x", {})
    steps = [(0, CRIT, "pool 20 of 20"), (30, WARN, "pool 17 of 20"), (60, WARN, "pool 17 of 20")]
    for seconds, status, words in steps:
        alert, events = evaluate(alert, status, words, r, T0 + timedelta(seconds=seconds))
    (fired,) = events
    assert fired.kind is EventKind.FIRING
    # a WARNING message fires at the WARNING's severity, not at an earlier CRITICAL's
    assert (fired.level, fired.severity, fired.summary) == (WARN, 3, "pool 17 of 20")


def test_unknown_never_resolves_a_firing_alert() -> None:
    alert, kinds = run(rule(pending_for=0), (0, CRIT), (10, UNKNOWN), (20, UNKNOWN), (30, UNKNOWN))
    assert alert.state is AlertState.FIRING
    assert all(EventKind.RESOLVED not in k for k in kinds)


def test_unknown_on_its_own_alerts_at_the_warning_level() -> None:
    alert, _ = run(rule(pending_for=0), (0, UNKNOWN))
    assert alert.state is AlertState.FIRING
    assert alert.severity == 3


def test_keep_firing_for_holds_through_a_short_recovery() -> None:
    alert, kinds = run(rule(pending_for=0, keep_firing_for=60), (0, CRIT), (10, OK), (40, OK),
                       (50, CRIT), (60, OK), (130, OK))  # fmt: skip
    assert kinds[1:5] == [[], [], [], []]
    assert kinds[5] == [EventKind.RESOLVED]
    assert alert.state is AlertState.INACTIVE
    assert alert.resolved_at == T0 + timedelta(seconds=130)


def test_a_flapping_check_fires_once_and_stays_firing_until_stable() -> None:
    steps = [(i * 10, CRIT if i % 2 == 0 else OK) for i in range(FLAP_HIGH + 4)]
    alert, kinds = run(rule(pending_for=120), *steps)
    flat = [k for step in kinds for k in step]
    assert flat.count(EventKind.FIRING) == 1
    assert flat.count(EventKind.FLAPPING) == 1
    assert EventKind.RESOLVED not in flat
    assert alert.flapping
    assert alert.state is AlertState.FIRING
    # quiet and OK for longer than the flap window: stable again, then resolved
    alert2 = alert
    events_seen = []
    for minute in range(1, 13):
        alert2, events = evaluate(alert2, OK, "ok", rule(pending_for=120),
                                  T0 + timedelta(minutes=minute, seconds=100))  # fmt: skip
        events_seen += [e.kind for e in events]
    assert EventKind.FLAPPING_STOPPED in events_seen
    assert events_seen[-1] is EventKind.RESOLVED or EventKind.RESOLVED in events_seen
    assert alert2.state is AlertState.INACTIVE
    assert not alert2.flapping


def test_the_next_decision_is_when_time_alone_would_change_the_alert() -> None:
    from dataclasses import replace

    from opsbook.alerts.rules import next_decision

    t0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    rule = Rule(60.0, 30.0, 1, 3, 120.0)
    base = Alert("check:x", Source.CHECK, "x", {})
    pending = replace(base, state=AlertState.PENDING, pending_since=t0)
    assert next_decision(pending, rule) == t0 + timedelta(seconds=60)  # for: fires
    holding = replace(base, state=AlertState.FIRING, last_status=Status.OK, last_bad_at=t0)
    assert next_decision(holding, rule) == t0 + timedelta(seconds=30)  # keep_firing_for ends
    resolved = replace(base, state=AlertState.INACTIVE, incident_id="INC-1", resolved_at=t0)
    assert next_decision(resolved, rule) == t0 + timedelta(seconds=120)  # auto_resolve closes
    assert next_decision(base, rule) is None
