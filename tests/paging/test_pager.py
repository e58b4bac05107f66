"""The escalation engine on a fast test clock, against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from opsbook.config.model import Config, validate
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.severity import SeverityPolicy
from opsbook.paging.message import Kind, trial_message
from opsbook.paging.outbox import claim, enqueue
from opsbook.paging.pager import Pager
from opsbook.store.tables import escalations, outbox, timeline
from tests.support.store import FakeClock

PAGING: dict[str, Any] = {
    "timezone": "UTC",
    "people": {p: {"email": f"{p}@example.com"}
               for p in ("alice", "bob", "carol", "erin", "frank")},
    "schedules": {"primary": {"timezone": "UTC", "rotation": "daily", "handoff": "00:00",
                              "members": ["alice"]}},
    "stakeholders": {"engineering": ["bob"], "management": ["carol"], "executives": ["erin"],
                     "crisis": ["frank"]},
    "escalation": [{"who": ["primary"]}, {"who": ["management"]}, {"who": ["executives"]},
                   {"who": ["crisis"]}],
    "communication": {"SEV-1": ["engineering"], "SEV-4": ["engineering"]},
    "paging": {"max_repeats": 1, "repeat_every": "10m"},
    "channels": {"mail": {"type": "email", "host": "127.0.0.1", "from": "ops@example.com"}},
}  # fmt: skip


@pytest.fixture
def setup(engine: Engine) -> tuple[Config, FakeClock, Incidents, Pager]:
    config, problems = validate(PAGING)
    assert config is not None, problems
    clock = FakeClock(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    service = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
    return config, clock, service, Pager(engine, config, clock=clock)


def pages(engine: Engine, kind: str = "page") -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.recipient).where(outbox.c.kind == kind)
                            .order_by(outbox.c.id)).all()  # fmt: skip
    return [r.recipient for r in rows]


def test_the_ladder_walks_within_the_sev1_target_then_repeats_then_gives_up(
    engine: Engine, setup: tuple[Config, FakeClock, Incidents, Pager]
) -> None:
    _, clock, service, pager = setup
    incident = service.open(title="down", severity=1, service="api", actor="a")
    pager.tick()
    assert pages(engine) == ["alice"]
    assert pages(engine, "update") == ["bob"]  # the communication rule: engineering is told
    # SEV-1 responds within 15 minutes; four levels: one every 5 minutes
    steps = [(4, ["alice"]), (5, ["alice", "carol"]), (10, ["alice", "carol", "erin"]),
             (15, ["alice", "carol", "erin", "frank"])]  # fmt: skip
    for minute, expected in steps:
        clock.now = incident.opened_at + timedelta(minutes=minute, seconds=1)
        pager.tick()
        assert pages(engine) == expected, minute
    clock.advance(minutes=10)  # repeat_every: the last level again
    pager.tick()
    assert pages(engine) == ["alice", "carol", "erin", "frank", "frank"]
    clock.advance(minutes=10)  # max_repeats reached: exhausted
    notices = pager.tick()
    assert any("escalation exhausted" in n.text for n in notices)
    with engine.connect() as conn:
        esc = conn.execute(select(escalations)).one()
        query = select(timeline.c.kind).where(timeline.c.incident_id == incident.id)
        kinds = [r.kind for r in conn.execute(query)]
    assert esc.stop_reason == "exhausted"
    assert kinds.count("page") == 6  # 4 levels, 1 repeat, 1 stakeholder update


def test_an_ack_stops_the_ladder_cancels_queued_pages_and_tells_who_was_paged(
    engine: Engine, setup: tuple[Config, FakeClock, Incidents, Pager]
) -> None:
    _, clock, service, pager = setup
    incident = service.open(title="down", severity=1, service="api", actor="a")
    pager.tick()
    clock.advance(minutes=5, seconds=1)
    pager.tick()  # alice and carol paged; alice's page went out, carol's is still queued
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.recipient == "alice")
                     .values(status="delivered"))  # fmt: skip
    service.acknowledge(incident.id, "carol")
    notices = pager.tick()
    assert any("escalation stopped: acknowledged by carol; 1 queued page cancelled" in n.text
               for n in notices)  # fmt: skip
    clock.advance(hours=1)
    pager.tick()
    assert pages(engine) == ["alice", "carol"]  # no level 3
    assert pages(engine, "ack") == ["alice"]  # whoever was actually paged hears of the ack
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(outbox.c.recipient, outbox.c.status)
                                     .where(outbox.c.kind == "page")).all())  # fmt: skip
    assert statuses == {"alice": "delivered", "carol": "cancelled"}


def test_waits_come_from_the_severity_target(
    engine: Engine, setup: tuple[Config, FakeClock, Incidents, Pager]
) -> None:
    _, clock, service, pager = setup
    assert pager.wait_after(1, 1) == 5 * 60
    assert pager.wait_after(1, 3) == 4 * 3600 / 3  # SEV-3: 4 hours over three steps
    incident = service.open(title="slow", severity=3, service="api", actor="a")
    pager.tick()
    clock.now = incident.opened_at + timedelta(minutes=79)
    pager.tick()
    assert pages(engine) == ["alice"]
    clock.now = incident.opened_at + timedelta(minutes=80, seconds=1)
    pager.tick()
    assert pages(engine) == ["alice", "carol"]


def test_sev4_is_never_paged_and_goes_into_the_daily_digest(
    engine: Engine, setup: tuple[Config, FakeClock, Incidents, Pager]
) -> None:
    _, clock, service, pager = setup
    service.open(title="cosmetic glitch", severity=4, service="api", actor="a")
    clock.now = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # before digest_at (09:00)
    pager.tick()
    assert pages(engine) == [] and pages(engine, "digest") == []
    clock.now = datetime(2026, 11, 28, 9, 0, 30, tzinfo=UTC)
    pager.tick()
    pager.tick()
    assert pages(engine, "digest") == ["bob"]  # once a day, to the SEV-4 audience
    assert pages(engine) == []


def test_two_workers_never_claim_the_same_notification(engine: Engine) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for n in range(6):
            enqueue(conn, key=f"k{n}", incident_id=None, channel="mail", recipient="alice",
                    message=trial_message("mail", now), now=now)  # fmt: skip
    got: dict[str, list[int]] = {}
    first_claimed = threading.Event()

    def worker(name: str, hold: float) -> None:
        with engine.begin() as conn:
            got[name] = [i.id for i in claim(conn, worker=name, now=now, limit=3)]
            first_claimed.set()
            threading.Event().wait(hold)  # keep the transaction (and its locks) open

    a = threading.Thread(target=worker, args=("a", 1.0))
    a.start()
    first_claimed.wait(10)
    b = threading.Thread(target=worker, args=("b", 0.0))
    b.start()
    a.join(20)
    b.join(20)
    assert len(got["a"]) == 3 and len(got["b"]) == 3
    assert not set(got["a"]) & set(got["b"])
    assert Kind.TEST.value == "test"


def test_a_level_that_reaches_nobody_is_not_delivered_and_the_next_is_paged_at_once(
    engine: Engine, setup: tuple[Config, FakeClock, Incidents, Pager]
) -> None:
    _config, clock, service, _ = setup
    made, problems = validate(
        {
            **PAGING,
            "channels": {},
            "people": {
                **PAGING["people"],
                "carol": {"slack": "https://hooks.slack.com/services/c"},
            },
        }
    )
    assert made is not None, problems  # alice (level 1) has only an email: no channel
    pager = Pager(engine, made, clock=clock)
    incident = service.open(title="down", severity=1, service="api", actor="a")
    said = pager.tick()
    with engine.connect() as conn:
        query = select(timeline.c.body).where(timeline.c.incident_id == incident.id)
        bodies = [r.body for r in conn.execute(query)]
    assert any(b.startswith("NOT DELIVERED: level 1: alice: email address but no email channel")
               for b in bodies), bodies  # fmt: skip
    assert pager.undeliverable and pager.undeliverable[0].startswith(incident.id)
    assert [s.level for s in said if "reached nobody" in s.text] == [logging.WARNING]
    clock.advance(seconds=1)  # not the 5 minutes a level waits
    said = pager.tick()
    assert pages(engine, "page") == ["carol"]  # level 2 (management) at once
    # a page that went out is routine: INFO, not a WARNING in the daemon's log
    assert [s.level for s in said if "paging" in s.text] == [logging.INFO]
