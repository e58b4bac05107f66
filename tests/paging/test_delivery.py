"""The deliverer's round, in-process against a real store and real receivers: one odd item
never stops the others, and a page that cannot be sent escalates instead of waiting."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from opsbook.clients import webhooks
from opsbook.config.model import Config, validate
from opsbook.config.paging_section import Paging
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.severity import SeverityPolicy
from opsbook.paging.channels import Outcome, deliver
from opsbook.paging.delivery import Deliverer
from opsbook.paging.outbox import Item
from opsbook.paging.pager import Pager
from opsbook.store.open import open_store
from opsbook.store.tables import incidents as incidents_table
from opsbook.store.tables import outbox, timeline
from tests.support.receivers import HttpReceiver, SmtpReceiver
from tests.support.servers import PostgresServer
from tests.support.store import FakeClock


@pytest.fixture
def receivers() -> Iterator[tuple[SmtpReceiver, HttpReceiver]]:
    smtp, hook = SmtpReceiver(), HttpReceiver()
    yield smtp, hook
    smtp.stop()
    hook.stop()


def config(smtp: SmtpReceiver, hook: HttpReceiver) -> Config:
    made, problems = validate({
        "people": {"alice": {"email": "alice@example.com"},
                   "carol": {"email": "carol@example.com"}},
        "schedules": {"primary": {"timezone": "UTC", "rotation": "daily", "handoff": "00:00",
                                  "members": ["alice"]}},
        "stakeholders": {"management": ["carol"], "ops": ["channel:ops-hook"]},
        "escalation": [{"who": ["primary", "ops"], "after": "10m"}, {"who": ["management"]}],
        "paging": {"max_repeats": 0},
        "channels": {
            "mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port, "starttls": False,
                     "from": "ops@example.com"},
            "ops-hook": {"type": "webhook", "url": hook.url},
        },
    })  # fmt: skip
    assert made is not None, problems
    return made


def rounds(
    engine: Engine, clock: FakeClock, paging: Paging, send: Any = deliver, n: int = 1
) -> None:
    async def in_store(fn: Any) -> Any:
        return fn()

    async def go() -> None:
        deliverer = Deliverer(engine, paging, in_store, clock=clock, send=send)
        async with webhooks.session() as http:
            for _ in range(n):
                await deliverer.round(http)
                clock.advance(seconds=10)  # past the first retries' backoff (2 s, 4 s ±50 %)

    asyncio.run(go())


def statuses(engine: Engine, kind: str = "page") -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.channel, outbox.c.recipient, outbox.c.status)
                            .where(outbox.c.kind == kind))  # fmt: skip
        return {f"{r.channel}:{r.recipient}": r.status for r in rows}


def test_a_multi_line_title_is_delivered_by_email_and_webhook_alike(
    engine: Engine, clock: FakeClock, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    """Once, a title with a newline raised while setting the Subject and ended all paging."""
    smtp, hook = receivers
    cfg = config(smtp, hook)
    incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
    incident = incidents.open(title="High latency\ngraphql p95 over 2 s\r\nBcc: x@evil.example",
                              severity=1, service="api", actor="alertmanager")  # fmt: skip
    Pager(engine, cfg, clock=clock).tick()
    rounds(engine, clock, cfg.paging)
    assert statuses(engine) == {"mail:alice": "delivered", "ops-hook:ops-hook": "delivered"}
    [mail] = smtp.to("alice@example.com")
    assert mail["Subject"].startswith(f"[SEV-1] {incident.id} High latency graphql p95")
    assert mail["Bcc"] is None
    assert hook.bodies()[0]["title"].startswith("High latency\ngraphql")  # JSON keeps it


def test_the_reports_timeline_folds_receipts_under_their_page_to_the_second(
    engine: Engine, clock: FakeClock, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    from datetime import UTC

    from opsbook.incidents.records import read_timeline
    from opsbook.incidents.report import render_markdown

    smtp, hook = receivers
    cfg = config(smtp, hook)
    incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
    incident = incidents.open(title="down", severity=1, service="api", actor="alertmanager")
    Pager(engine, cfg, clock=clock).tick()
    clock.advance(seconds=3)
    rounds(engine, clock, cfg.paging)
    entries = read_timeline(engine, [incident.id])[incident.id]
    receipts = sum(e.kind.value == "delivery" for e in entries)
    assert receipts >= 2  # the page, by email and by the webhook
    md = render_markdown(incident, entries, [], SeverityPolicy.from_config({}), UTC, clock.now)
    rows = [line for line in md.split("## Timeline")[1].split("##")[0].splitlines()
            if line.startswith("| ") and not line.startswith("| Time")]  # fmt: skip
    assert len(rows) == len(entries) - receipts  # receipts have no rows of their own
    [page] = [r for r in rows if "paging" in r]
    assert " · delivered: " in page and "page to alice via mail (+3 s)" in page
    assert re.match(r"^\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \|", rows[0])  # to the second
    assert re.match(r"^\| \d\d:\d\d:\d\d \|", rows[1])  # the same day: the time alone


def test_an_item_that_raises_fails_alone_then_for_good_and_escalates(
    engine: Engine, clock: FakeClock, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    smtp, hook = receivers
    cfg = config(smtp, hook)
    incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
    incident = incidents.open(title="down", severity=1, service="api", actor="a")
    pager = Pager(engine, cfg, clock=clock)
    pager.tick()

    async def broken_email(item: Item, paging: Paging, http: webhooks.Session) -> Outcome:
        if item.channel == "mail":
            raise KeyError("a bug in the email channel")
        return await deliver(item, paging, http)

    rounds(engine, clock, cfg.paging, send=broken_email)
    assert statuses(engine) == {"mail:alice": "pending", "ops-hook:ops-hook": "delivered"}
    rounds(engine, clock, cfg.paging, send=broken_email, n=2)
    assert statuses(engine)["mail:alice"] == "failed"  # parked after three tries
    with engine.connect() as conn:
        query = select(timeline.c.body).where(timeline.c.incident_id == incident.id)
        bodies = [r.body for r in conn.execute(query)]
    assert any("failed for good: internal error: KeyError" in b for b in bodies), bodies
    assert any("escalating to the next level now" in b for b in bodies)
    pager.tick()  # the next level is due at once, not in 10 minutes
    rounds(engine, clock, cfg.paging)
    assert "mail:carol" in statuses(engine)  # level 2 paged


def test_a_hostile_title_reaches_every_sink_sanitized_for_that_sink(
    engine: Engine, clock: FakeClock, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    """One title, every channel kind: a header gets one line, Slack gets no mention or link it
    did not mean, JSON bodies carry the text as data, and every item is delivered."""
    smtp, hook = receivers
    slack, pd = HttpReceiver(), HttpReceiver(respond=lambda r: 202)
    try:
        made, problems = validate({
            "people": {"alice": {"email": "alice@example.com", "slack": slack.url,
                                 "pagerduty": "pd"}},
            "schedules": {"primary": {"timezone": "UTC", "rotation": "daily",
                                      "handoff": "00:00", "members": ["alice"]}},
            "stakeholders": {"ops": ["channel:ops-hook"]},
            "escalation": [{"who": ["primary", "ops"], "after": "10m"}],
            "paging": {"public_url": "http://ops.example:9184"},
            "channels": {
                "mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port,
                         "starttls": False, "from": "ops@example.com"},
                "ops-hook": {"type": "webhook", "url": hook.url},
                "pd": {"type": "pagerduty", "routing_key": "R0123456789abcdef", "url": pd.url},
            },
        })  # fmt: skip
        assert made is not None, problems
        title = "<!channel> disk full\r\nBcc: x@evil.example <http://evil.example|click> & more"
        incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
        incident = incidents.open(title=title, severity=1, service="api", actor="alertmanager")
        Pager(engine, made, clock=clock).tick()
        rounds(engine, clock, made.paging)
        assert set(statuses(engine).values()) == {"delivered"}, statuses(engine)
        [mail] = smtp.to("alice@example.com")
        assert "\n" not in mail["Subject"] and mail["Bcc"] is None
        text = slack.bodies()[0]["text"]
        assert "<!channel>" not in text and "<http://evil.example|click>" not in text
        assert "&lt;!channel&gt;" in text and "&amp; more" in text
        assert "<http://ops.example:9184/ack/" in text  # our own link is still a link
        assert hook.bodies()[0]["title"] == title  # JSON: the text itself, safely encoded
        assert hook.got[0].headers["x-opsbook-delivery"].startswith(incident.id)
        event = pd.bodies()[0]
        assert event["payload"]["summary"].startswith(f"[SEV-1] {incident.id} <!channel>")
    finally:
        slack.stop()
        pd.stop()


def test_ack_links_are_issued_when_sent_never_stored_in_clear_and_work_once(
    engine: Engine, clock: FakeClock, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    import re

    from opsbook.paging import acks
    from opsbook.paging.acks import Link

    smtp, hook = receivers
    cfg = config(smtp, hook)
    incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
    incident = incidents.open(title="down", severity=1, service="api", actor="a")
    Pager(engine, cfg, clock=clock).tick()
    with engine.connect() as conn:
        [payload] = conn.execute(select(outbox.c.payload).where(outbox.c.recipient == "alice"))
    assert "{ack-token}" in payload.payload["ack_url"]  # the outbox holds no token
    rounds(engine, clock, cfg.paging)
    text = smtp.to("alice@example.com")[0].get_body(preferencelist=("plain",)).get_content()
    token = re.search(r"/ack/(\S+)", text).group(1)  # type: ignore[union-attr]
    with engine.connect() as conn:
        stored = [str(r.payload) for r in conn.execute(select(outbox.c.payload))]
    assert not any(token in s for s in stored)
    assert acks.acknowledge(engine, incidents, token, clock.now).link is Link.ACKNOWLEDGED
    with engine.begin() as conn:  # the incident needs acknowledging again (a new episode)
        conn.execute(update(incidents_table).values(acknowledged_at=None, acknowledged_by=None))
    again = acks.acknowledge(engine, incidents, token, clock.now)
    assert again.link is Link.ALREADY  # a used link acknowledges nothing more
    assert incidents.get(incident.id).acknowledged_at is None


def test_sent_notifications_and_expired_links_are_purged_after_the_retention(
    engine: Engine, clock: FakeClock, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    from datetime import timedelta

    from opsbook.paging.outbox import purge
    from opsbook.store.tables import ack_tokens

    smtp, hook = receivers
    cfg = config(smtp, hook)
    incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
    incidents.open(title="down", severity=1, service="api", actor="a")
    Pager(engine, cfg, clock=clock).tick()
    rounds(engine, clock, cfg.paging)
    with engine.begin() as conn:
        assert purge(conn, clock.now - timedelta(days=1)) == 0  # recent: kept
        removed = purge(conn, clock.now + timedelta(days=2))  # past the retention
        left = conn.execute(select(outbox)).all()
        tokens = conn.execute(select(ack_tokens)).all()
    assert removed >= 2 and left == [] and tokens == []


def test_ack_links_follow_server_listen_unless_public_url_is_set() -> None:
    from opsbook.paging.pager import public_url

    made, _ = validate({"server": {"listen": "10.1.2.3:9999"}})
    assert made is not None and public_url(made) == "http://10.1.2.3:9999"
    made, _ = validate({"server": {"listen": "[::1]:9184"}})
    assert made is not None and public_url(made) == "http://[::1]:9184"
    made, _ = validate({"paging": {"public_url": "https://ops.example.com/"}})
    assert made is not None and public_url(made) == "https://ops.example.com"


def test_every_channel_kind_carries_an_ack_link_that_works(
    engine: Engine, clock: FakeClock, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    """Email, a person's Slack, a person's webhook, PagerDuty, and a shared channel."""

    from opsbook.paging import acks
    from opsbook.paging.acks import Link

    smtp, hook = receivers
    slack, pd, mine = HttpReceiver(), HttpReceiver(respond=lambda r: 202), HttpReceiver()
    try:
        made, problems = validate({
            "people": {"alice": {"email": "alice@example.com", "slack": slack.url,
                                 "pagerduty": "pd", "webhook": "alice-sms"}},
            "stakeholders": {"ops": ["channel:ops-hook"]},
            "escalation": [{"who": ["alice", "ops"], "after": "10m"}],
            "paging": {"public_url": "http://ops.example:9184"},
            "channels": {
                "mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port,
                         "starttls": False, "from": "ops@example.com"},
                "ops-hook": {"type": "webhook", "url": hook.url},
                "alice-sms": {"type": "webhook", "url": mine.url},
                "pd": {"type": "pagerduty", "routing_key": "R0123456789abcdef", "url": pd.url},
            },
        })  # fmt: skip
        assert made is not None, problems
        incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
        incident = incidents.open(title="down", severity=1, service="api", actor="a")
        Pager(engine, made, clock=clock).tick()
        rounds(engine, clock, made.paging)
        mail = smtp.to("alice@example.com")[0].get_body(preferencelist=("plain",)).get_content()
        slack_text = slack.bodies()[0]["text"]
        links = {
            "email": _first(r"http://ops\.example:9184/ack/\S+", mail),
            "slack": _first(r"http://ops\.example:9184/ack/[^|>]+", slack_text),
            "webhook": _page_of(mine)["ack_url"],
            "pagerduty": pd.bodies()[0]["links"][0]["href"],
            "channel": _page_of(hook)["ack_url"],
        }
        tokens = {k: v.rsplit("/", 1)[1] for k, v in links.items()}
        assert len(set(tokens.values())) == 5  # one each, and none a placeholder
        for kind, token in tokens.items():
            looked = acks.look(engine, token, clock.now)
            assert looked.link is Link.VALID, kind
        done = acks.acknowledge(engine, incidents, tokens["channel"], clock.now)
        assert done.link is Link.ACKNOWLEDGED
        assert incidents.get(incident.id).acknowledged_by == "ops-hook (ack link)"
    finally:
        for receiver in (slack, pd, mine):
            receiver.stop()


def _first(pattern: str, text: str) -> str:
    import re

    found = re.search(pattern, text)
    assert found, text
    return found.group(0)


def _page_of(receiver: HttpReceiver) -> dict[str, Any]:
    return next(b for b in receiver.bodies() if b["kind"] == "page")


def test_a_page_sent_as_the_store_went_away_is_recorded_when_it_returns_and_sent_once(
    pg_fresh: PostgresServer, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    """CI once paged alice twice: the store stopped between her email and its record, the
    lease ran out during the outage, and the other instance sent it again."""
    smtp, hook = receivers
    cfg = config(smtp, hook)
    clock = FakeClock()
    engine = open_store(pg_fresh.dsn()).engine
    incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
    incidents.open(title="down", severity=1, service="api", actor="alertmanager")
    Pager(engine, cfg, clock=clock).tick()

    sent: list[str] = []

    async def send_then_lose_the_store(item: Item, paging: Paging, http: Any) -> Outcome:
        outcome = await deliver(item, paging, http)
        sent.append(item.key)
        if len(sent) == 1:
            await asyncio.to_thread(pg_fresh.stop)
        return outcome

    async def in_store(fn: Any) -> Any:
        return fn()

    async def go() -> None:
        holder = Deliverer(engine, cfg.paging, in_store, clock=clock,
                           send=send_then_lose_the_store)  # fmt: skip
        other = Deliverer(engine, cfg.paging, in_store, clock=clock)
        other.worker = "elsewhere:1"
        async with webhooks.session() as http:
            await holder.round(http)  # sent; the record fails: the store is gone
            assert len(holder.unrecorded) == len(sent) > 0
            await other.round(http)  # the other instance sees the outage too
            clock.advance(seconds=60)  # the leases end while the store is away
            pg_fresh.start()
            await other.round(http)  # back first: must not take the holder's leases
            await holder.round(http)  # records what it sent
            clock.advance(seconds=60)
            await other.round(http)
            await holder.round(http)

    asyncio.run(go())
    engine.dispose()
    assert len(smtp.to("alice@example.com")) == 1
    rows = statuses_of(pg_fresh)
    assert set(rows.values()) == {"delivered"}
    assert sorted(sent) == sorted(rows)  # each sent once, by the holder
    assert len(smtp.messages) + len(hook.bodies()) == len(rows)


def statuses_of(pg: PostgresServer) -> dict[str, str]:
    engine = open_store(pg.dsn()).engine
    with engine.connect() as conn:
        found = {r.key: r.status for r in conn.execute(select(outbox.c.key, outbox.c.status))}
    engine.dispose()
    return found
