"""The incident lifecycle on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from opsbook.errors import IncidentError, UsageError
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.model import ActionKind, EntryKind, Phase
from opsbook.incidents.records import ActionItems, read_timeline
from opsbook.store.tables import timeline

from .conftest import FakeClock


def entries(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(timeline)).scalar_one())


def test_ids_count_per_day(service: Incidents, clock: FakeClock) -> None:
    first = service.open(title="API down", severity=1, service="api", actor="alice")
    second = service.open(title="Slow", severity=3, service="api", actor="alice")
    clock.advance(days=1)
    next_day = service.open(title="Again", severity=2, service="api", actor="alice")
    assert (first.id, second.id) == ("INC-2026-11-28-1", "INC-2026-11-28-2")
    assert next_day.id == "INC-2026-11-29-1"


def test_opening_sets_the_response_clock_from_the_severity(
    service: Incidents, clock: FakeClock
) -> None:
    sev1 = service.open(title="Outage", severity=1, service="api", actor="alice")
    sev3 = service.open(title="Minor", severity=3, service="api", actor="alice")
    assert sev1.response_due_at - sev1.opened_at == timedelta(minutes=15)
    assert sev3.response_due_at - sev3.opened_at == timedelta(hours=4)
    assert sev1.phase is Phase.TRIAGE
    assert sev1.opened_at == clock.now


def test_a_full_run_through_every_phase_is_on_the_timeline(
    service: Incidents, actions: ActionItems, engine: Engine, clock: FakeClock
) -> None:
    inc = service.open(title="5xx spike", severity=2, service="api", actor="alice")
    clock.advance(minutes=5)
    service.acknowledge(inc.id, "bob")
    clock.advance(minutes=1)
    service.assign(inc.id, "bob", "alice")
    service.set_phase(inc.id, Phase.INVESTIGATING, "bob")
    service.note(inc.id, "error rate 12% on /graphql", "bob")
    clock.advance(minutes=10)
    service.change_severity(inc.id, 1, "checkout failing for everyone", "bob")
    service.set_phase(inc.id, Phase.CONTAINED, "bob")
    service.set_phase(inc.id, Phase.RECOVERING, "bob")
    clock.advance(minutes=30)
    done = service.resolve(inc.id, "rolled back to v2.2", "bob")
    with pytest.raises(IncidentError, match="report still has Summary, Users Affected"):
        service.set_phase(inc.id, Phase.REVIEWED, "carol")  # the review is not written yet
    review = {"summary": "5xx after deploy", "users_affected": "checkout users",
              "business_impact": "40 minutes of lost orders", "root_cause": "a lock"}  # fmt: skip
    service.edit(inc.id, review, "carol")
    reviewed = service.set_phase(inc.id, Phase.REVIEWED, "carol")
    assert done.resolved_at == clock.now
    assert reviewed.phase is Phase.REVIEWED
    kinds = [e.kind for e in read_timeline(engine, [inc.id])[inc.id]]
    assert kinds == [
        EntryKind.OPENED, EntryKind.ACKNOWLEDGED, EntryKind.ASSIGNED, EntryKind.PHASE,
        EntryKind.NOTE, EntryKind.SEVERITY, EntryKind.PHASE, EntryKind.PHASE,
        EntryKind.RESOLVED, EntryKind.ACTION_ADDED, *[EntryKind.EDITED] * 4, EntryKind.PHASE,
    ]  # fmt: skip
    # the runbook's "update runbooks after every incident" becomes an action item
    [item] = actions.list(incident_id=inc.id)
    assert item.kind is ActionKind.RUNBOOK
    assert item.owner == "bob"


def test_illegal_moves_fail_and_change_nothing(service: Incidents, engine: Engine) -> None:
    inc = service.open(title="x", severity=2, service="api", actor="alice")
    service.acknowledge(inc.id, "bob")
    before = entries(engine)
    with pytest.raises(IncidentError, match="already acknowledged by bob"):
        service.acknowledge(inc.id, "carol")
    with pytest.raises(IncidentError, match="already SEV-2"):
        service.change_severity(inc.id, 2, "same", "bob")
    with pytest.raises(UsageError, match="unknown severity 7"):
        service.change_severity(inc.id, 7, "why", "bob")
    with pytest.raises(IncidentError, match="no incident 'INC-1999-01-01-9'"):
        service.note("INC-1999-01-01-9", "hello", "bob")
    with pytest.raises(IncidentError, match="only a resolved incident is reviewed"):
        service.set_phase(inc.id, Phase.REVIEWED, "bob")
    with pytest.raises(IncidentError, match="nothing to reopen"):
        service.reopen(inc.id, "bob")
    assert entries(engine) == before
    service.resolve(inc.id, "fixed", "bob")
    before = entries(engine)
    with pytest.raises(IncidentError, match="already resolved"):
        service.resolve(inc.id, "again", "bob")
    with pytest.raises(IncidentError, match="cannot be moved to investigating"):
        service.set_phase(inc.id, Phase.INVESTIGATING, "bob")
    assert entries(engine) == before
    assert service.get(inc.id).phase is Phase.RESOLVED


def test_reopening_clears_the_resolution(service: Incidents, clock: FakeClock) -> None:
    inc = service.open(title="x", severity=3, service="api", actor="alice")
    service.resolve(inc.id, "restarted", "bob")
    clock.advance(hours=1)
    again = service.reopen(inc.id, "bob", "it is back")
    assert again.phase is Phase.INVESTIGATING
    assert again.resolved_at is None
    assert service.resolve(inc.id, "real fix", "bob").resolved_at == clock.now


def test_a_raise_restarts_the_clock_and_a_lowering_keeps_its_start(
    service: Incidents, clock: FakeClock
) -> None:
    inc = service.open(title="x", severity=3, service="api", actor="alice")
    clock.advance(minutes=30)
    raised = service.change_severity(inc.id, 1, "worse", "bob")
    assert raised.response_due_at == clock.now + timedelta(minutes=15)
    raise_time = clock.now
    clock.advance(minutes=5)
    lowered = service.change_severity(inc.id, 2, "contained to one region", "bob")
    assert lowered.response_due_at == raise_time + timedelta(hours=1)


def test_working_on_an_incident_acknowledges_it(service: Incidents) -> None:
    inc = service.open(title="x", severity=2, service="api", actor="alice")
    moved = service.set_phase(inc.id, Phase.INVESTIGATING, "bob")
    assert moved.acknowledged_by == "bob"
    resolved_directly = service.open(title="y", severity=2, service="api", actor="alice")
    assert service.resolve(resolved_directly.id, "fixed", "carol").acknowledged_by == "carol"


def test_edits_are_new_entries_and_only_real_changes_count(
    service: Incidents, engine: Engine
) -> None:
    inc = service.open(title="x", severity=2, service="api", actor="alice")
    assert service.edit(inc.id, {"root_cause": "disk full", "lessons": "alert earlier"}, "bob") == [
        "root_cause", "lessons",
    ]  # fmt: skip
    assert service.edit(inc.id, {"root_cause": "disk full", "prevention": "quota"}, "bob") == [
        "prevention"
    ]
    with pytest.raises(IncidentError, match="nothing changed"):
        service.edit(inc.id, {"root_cause": "disk full"}, "bob")
    found = service.get(inc.id)
    assert found.fields["root_cause"] == "disk full"
    edits = [e for e in read_timeline(engine, [inc.id])[inc.id] if e.kind is EntryKind.EDITED]
    assert [e.data["field"] for e in edits] == ["root_cause", "lessons", "prevention"]


def test_list_filters(service: Incidents, clock: FakeClock) -> None:
    old = service.open(title="old", severity=4, service="api", actor="a")
    service.resolve(old.id, "done", "a")
    clock.advance(days=10)
    sev1 = service.open(title="now", severity=1, service="api", actor="a")
    sev3 = service.open(title="now too", severity=3, service="api", actor="a")
    assert [i.id for i in service.list()] == [sev3.id, sev1.id, old.id]
    assert {i.id for i in service.list(open_only=True)} == {sev1.id, sev3.id}
    assert [i.id for i in service.list(severities=[1])] == [sev1.id]
    assert {i.id for i in service.list(since=clock.now - timedelta(days=1))} == {sev1.id, sev3.id}


def test_action_items_are_listed_across_incidents(
    service: Incidents, actions: ActionItems, clock: FakeClock
) -> None:
    a = service.open(title="a", severity=2, service="api", actor="x")
    b = service.open(title="b", severity=3, service="api", actor="x")
    late = actions.add(a.id, "add disk alert", "x", owner="bob", due=clock.now.date())
    later = actions.add(b.id, "write postmortem", "x", due=(clock.now + timedelta(days=9)).date())
    clock.advance(days=2)
    assert [i.id for i in actions.list(overdue_on=clock.now.date())] == [late.id]
    actions.done(late.id, "bob")
    with pytest.raises(IncidentError, match="already done by bob"):
        actions.done(late.id, "bob")
    assert [i.id for i in actions.list(open_only=True)] == [later.id]
    assert actions.list(overdue_on=clock.now.date()) == []


def test_the_timeline_is_append_only_in_the_database(service: Incidents, engine: Engine) -> None:
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DatabaseError

    service.open(title="x", severity=2, service="api", actor="alice")
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(update(timeline).values(body="rewritten history"))
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(delete(timeline))
    assert entries(engine) == 1
