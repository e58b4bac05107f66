"""The alert processor as the daemon's pipeline calls it: results in, alerts and incidents out,
on a clock the test controls and a real store (SQLite and PostgreSQL). The real-daemon tests
in tests/daemon/ prove the wiring; these prove the rules, without waiting for time to pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from opsbook.alerts.intake import ExternalAlert
from opsbook.alerts.model import AlertState, Source
from opsbook.alerts.processor import AlertProcessor
from opsbook.alerts.silences import Silences
from opsbook.config.model import Config, validate
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.model import Phase as IncidentPhase
from opsbook.incidents.severity import SeverityPolicy
from opsbook.results import CheckKind, Result, Unit
from opsbook.secrets import Redactor
from opsbook.status import Status
from opsbook.store.tables import action_items, timeline
from tests.support.store import FakeClock

CHECKS: dict[str, Any] = {
    "cache": {"type": "redis", "url": "redis://127.0.0.1:1", "for": "30s", "severity": "SEV-1"},
    "auto": {"type": "redis", "url": "redis://127.0.0.1:2", "for": "0s", "severity": "SEV-2",
             "auto_resolve": "5m"},
    "disk": {"type": "disk", "path": "/", "for": "0s",
             "severity": {"critical": "SEV-1", "warning": "SEV-3"}},
    "plugin": {"type": "command", "command": ["/no/such/plugin"], "for": "0s"},
    "cosmetic": {"type": "memory", "for": "0s", "severity": "SEV-4"},
}  # fmt: skip


def config() -> Config:
    made, problems = validate({"service": "fraiseql", "checks": CHECKS})
    assert made is not None, problems
    return made


def processor(engine: Engine, clock: FakeClock) -> AlertProcessor:
    cfg = config()
    incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
    return AlertProcessor(engine, incidents, cfg.checks, service=cfg.service,
                          redact=Redactor([]), clock=clock)  # fmt: skip


def result(name: str, status: Status, at: datetime, message: str = "") -> Result:
    kind = config().checks[name].kind
    text = message or ("check is fine" if status is Status.OK else "connection refused")
    return Result(name, kind, "target", status, text, None, Unit.COUNT, 0.01, at)


def run(
    p: AlertProcessor, clock: FakeClock, name: str, status: Status, message: str = "",
    **advance: float,
) -> Any:  # fmt: skip
    """One evaluation of a check, ``advance`` after the last."""
    clock.advance(**advance)
    return p.process([result(name, status, clock.now, message)])


def bodies(engine: Engine, incident_id: str) -> list[str]:
    with engine.connect() as conn:
        query = select(timeline.c.body).where(timeline.c.incident_id == incident_id)
        return [r.body for r in conn.execute(query.order_by(timeline.c.id))]


def incidents_of(p: AlertProcessor) -> list[Any]:
    return p.incidents.list()


def test_a_failing_check_is_pending_for_its_for_then_fires_once_with_one_incident(
    engine: Engine, clock: FakeClock
) -> None:
    p = processor(engine, clock)
    run(p, clock, "cache", Status.CRITICAL)
    assert p.alerts["check:cache"].state is AlertState.PENDING
    run(p, clock, "cache", Status.CRITICAL, seconds=29)
    assert p.alerts["check:cache"].state is AlertState.PENDING and incidents_of(p) == []
    notices = run(p, clock, "cache", Status.CRITICAL, seconds=2)
    [incident] = incidents_of(p)
    assert incident.severity == 1 and incident.opened_by == "opsbook"
    assert incident.title == "cache: connection refused" and incident.service == "fraiseql"
    assert any(f"opened {incident.id}" in n.text for n in notices)
    for _ in range(3):  # more failing evaluations: still one incident
        run(p, clock, "cache", Status.CRITICAL, seconds=10)
    assert [i.id for i in incidents_of(p)] == [incident.id]
    texts = bodies(engine, incident.id)
    assert texts[0] == "SEV-1 opened: cache: connection refused"
    assert texts[1] == "alert cache firing (CRITICAL) after 31 s pending: connection refused"


def test_recovery_goes_on_the_timeline_and_the_incident_waits_for_a_human(
    engine: Engine, clock: FakeClock
) -> None:
    p = processor(engine, clock)
    run(p, clock, "cache", Status.CRITICAL)
    run(p, clock, "cache", Status.CRITICAL, seconds=31)
    [incident] = incidents_of(p)
    notices = run(p, clock, "cache", Status.OK, seconds=10)
    assert p.alerts["check:cache"].state is AlertState.INACTIVE
    assert any(f"({incident.id} stays open for a human)" in n.text for n in notices)
    assert bodies(engine, incident.id)[-1] == "alert cache resolved: check is OK again"
    run(p, clock, "cache", Status.OK, hours=2)
    assert incidents_of(p)[0].phase is IncidentPhase.TRIAGE  # no auto_resolve


def test_auto_resolve_closes_the_incident_once_ok_for_its_period(
    engine: Engine, clock: FakeClock
) -> None:
    p = processor(engine, clock)
    run(p, clock, "auto", Status.CRITICAL)
    [incident] = incidents_of(p)
    run(p, clock, "auto", Status.OK, seconds=10)
    run(p, clock, "auto", Status.OK, minutes=4)
    assert incidents_of(p)[0].is_open
    run(p, clock, "auto", Status.OK, minutes=1, seconds=1)
    closed = p.incidents.get(incident.id)
    assert closed.phase is IncidentPhase.RESOLVED
    assert any("auto-resolved: auto has been OK for 5m" in b for b in bodies(engine, incident.id))
    # opened and closed by opsbook alone: no "update the runbook" item to bury the real ones
    assert actions_of(engine, incident.id) == []
    run(p, clock, "auto", Status.CRITICAL, minutes=1)
    second = next(i for i in incidents_of(p) if i.is_open)
    p.incidents.acknowledge(second.id, "alice")  # a person worked this one
    run(p, clock, "auto", Status.OK, seconds=10)
    run(p, clock, "auto", Status.OK, minutes=5, seconds=1)
    assert p.incidents.get(second.id).phase is IncidentPhase.RESOLVED
    assert [a.startswith("Update the runbook") for a in actions_of(engine, second.id)] == [True]


def actions_of(engine: Engine, incident_id: str) -> list[str]:
    with engine.connect() as conn:
        query = select(action_items.c.text).where(action_items.c.incident_id == incident_id)
        return [r.text for r in conn.execute(query)]


def test_a_new_processor_resumes_the_pending_timer_and_the_firing_alert(
    engine: Engine, clock: FakeClock
) -> None:
    """What kill -9 and a restart see: the state is the store's, not the process's."""
    first = processor(engine, clock)
    run(first, clock, "cache", Status.CRITICAL)
    pending_since = first.alerts["check:cache"].pending_since
    second = processor(engine, clock)  # a restart
    assert second.alerts["check:cache"].pending_since == pending_since
    run(second, clock, "cache", Status.CRITICAL, seconds=31)
    fired = second.alerts["check:cache"]
    assert fired.state is AlertState.FIRING and fired.pending_since == pending_since
    third = processor(engine, clock)
    run(third, clock, "cache", Status.CRITICAL, seconds=10)
    assert len(incidents_of(third)) == 1  # no duplicate after the restart


def test_unknown_fires_at_the_warning_severity_and_never_resolves_by_itself(
    engine: Engine, clock: FakeClock
) -> None:
    p = processor(engine, clock)
    run(p, clock, "plugin", Status.UNKNOWN)
    [incident] = incidents_of(p)
    assert incident.severity == 3
    for _ in range(5):
        run(p, clock, "plugin", Status.UNKNOWN, minutes=10)
    assert p.alerts["check:plugin"].state is AlertState.FIRING


def test_a_worse_level_raises_the_open_incidents_severity(engine: Engine, clock: FakeClock) -> None:
    p = processor(engine, clock)
    run(p, clock, "disk", Status.WARNING, message="91% used")
    [incident] = incidents_of(p)
    assert incident.severity == 3
    run(p, clock, "disk", Status.CRITICAL, seconds=30, message="97% used")
    assert p.incidents.get(incident.id).severity == 1
    assert any("escalated to CRITICAL" in b for b in bodies(engine, incident.id))


def test_sev4_alerts_are_recorded_and_never_open_an_incident(
    engine: Engine, clock: FakeClock
) -> None:
    p = processor(engine, clock)
    notices = run(p, clock, "cosmetic", Status.CRITICAL)
    assert p.alerts["check:cosmetic"].state is AlertState.FIRING
    assert incidents_of(p) == []
    assert any("recorded, not paged" in n.text for n in notices)


def test_a_silenced_alert_opens_nothing_until_the_silence_ends(
    engine: Engine, clock: FakeClock
) -> None:
    p = processor(engine, clock)
    Silences(engine).add("cac*", ends_at=clock.now + timedelta(minutes=30), why="upgrade",
                         actor="dba", now=clock.now)  # fmt: skip
    run(p, clock, "cache", Status.CRITICAL)
    run(p, clock, "cache", Status.CRITICAL, seconds=31)
    assert p.alerts["check:cache"].state is AlertState.FIRING
    assert p.alerts["check:cache"].suppressed and incidents_of(p) == []
    run(p, clock, "cache", Status.CRITICAL, minutes=31)  # the silence has ended
    [incident] = incidents_of(p)
    assert incident.severity == 1


@pytest.mark.parametrize("action", ["firing", "resolved"])
def test_an_external_alert_delivered_twice_changes_nothing_the_second_time(
    engine: Engine, clock: FakeClock, action: str
) -> None:
    p = processor(engine, clock)
    at = datetime(2026, 11, 28, 8, 59, tzinfo=UTC)

    def alert(what: str) -> ExternalAlert:
        return ExternalAlert("am:abc", Source.ALERTMANAGER, "HighLatency", {"job": "api"},
                             what, "critical", "p95 over 2 s", at)  # type: ignore[arg-type]  # fmt: skip

    if action == "resolved":
        p.ingest([alert("firing")], lambda _: 2, "intake")
    first, _ = p.ingest([alert(action)], lambda _: 2, "intake")
    again, _ = p.ingest([alert(action)], lambda _: 2, "intake")
    assert (first, again) == (1, 0)
    assert len(incidents_of(p)) == 1


def test_results_of_checks_no_longer_configured_are_ignored(
    engine: Engine, clock: FakeClock
) -> None:
    p = processor(engine, clock)
    stray = Result(
        "gone", CheckKind.HTTP, "t", Status.CRITICAL, "x", None, Unit.COUNT, 0, clock.now
    )
    assert p.process([stray]) == []
    assert "check:gone" not in p.alerts


def test_a_result_opsbook_could_not_measure_moves_no_alert(
    engine: Engine, clock: FakeClock
) -> None:
    """Out of file descriptors is opsbook's trouble, not the target's: no alert, no incident."""
    p = processor(engine, clock)
    mine = Result("auto", CheckKind.REDIS, "t", Status.UNKNOWN, "not measured: opsbook: Too "
                  "many open files", None, Unit.COUNT, 0, clock.now, local_fault=True)  # fmt: skip
    assert p.process([mine]) == []
    assert "check:auto" not in p.alerts and incidents_of(p) == []


def test_a_senders_resolution_leaves_the_incident_to_a_human_unless_auto_resolve(
    engine: Engine, clock: FakeClock
) -> None:
    p = processor(engine, clock)

    def alert(key: str, what: str) -> ExternalAlert:
        at = datetime(2026, 11, 28, 8, 59, tzinfo=UTC)
        return ExternalAlert(f"am:{key}", Source.ALERTMANAGER, f"Alert{key}", {"job": "api"},
                             what, "critical", "p95 over 2 s", at)  # type: ignore[arg-type]  # fmt: skip

    def incident_of(key: str) -> Any:
        return next(i for i in incidents_of(p) if f"Alert{key}" in i.title)

    for key in ("kept", "auto", "touched"):
        p.ingest([alert(key, "firing")], lambda _: 2, "intake")
    p.incidents.note(incident_of("touched").id, "looking at the p95 now", "alice")
    p.ingest([alert("kept", "resolved")], lambda _: 2, "intake")
    for key in ("auto", "touched"):
        p.ingest([alert(key, "resolved")], lambda _: 2, "intake", auto_resolve=True)
    assert incident_of("kept").phase is IncidentPhase.TRIAGE  # the default: a human resolves
    assert incident_of("auto").phase is IncidentPhase.RESOLVED
    assert any("intake.auto_resolve" in b for b in bodies(engine, incident_of("auto").id))
    assert incident_of("touched").phase is IncidentPhase.TRIAGE  # alice is on it
