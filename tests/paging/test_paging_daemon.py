"""Paging end to end: a real daemon, real receivers (SMTP, HTTP) on loopback."""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import Daemon
from tests.support.receivers import HttpReceiver, Received, SmtpReceiver

SECRET = "hmac-secret-0123456789"


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver()
    yield server
    server.stop()


@pytest.fixture
def made() -> Iterator[list[Any]]:
    things: list[Any] = []
    yield things
    for thing in things:
        if isinstance(thing, Daemon):
            thing.close()
        else:
            thing.stop()


def signed_ok(received: Received) -> bool:
    timestamp = received.headers.get("x-opsbook-timestamp", "")
    expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + received.body,
                                    hashlib.sha256).hexdigest()  # fmt: skip
    return hmac.compare_digest(received.headers.get("x-opsbook-signature", ""), expected)


def config(smtp: SmtpReceiver, hook: HttpReceiver, slack: HttpReceiver, *,
           after: str = "1s", extra: str = "") -> str:  # fmt: skip
    return f"""
people:
  alice: {{email: alice@example.com, slack: "{slack.url}"}}
  bob: {{email: bob@example.com}}
  carol: {{email: carol@example.com}}
  erin: {{email: erin@example.com}}
  frank: {{email: frank@example.com}}
schedules:
  primary: {{timezone: UTC, rotation: daily, handoff: "00:00", members: [alice]}}
stakeholders:
  engineering: [bob]
  management: [carol]
  executives: [erin]
  crisis: [frank, "channel:ops-hook"]
escalation:
  - {{who: [primary], after: {after}, name: on-call engineer}}
  - {{who: [management], after: {after}, name: engineering manager}}
  - {{who: [executives], after: {after}, name: CTO}}
  - {{who: [crisis], after: {after}, name: crisis team}}
communication:
  SEV-1: [engineering]
paging:
  max_repeats: 0
  public_url: http://127.0.0.1:__PORT__
channels:
  mail:
    {{type: email, host: 127.0.0.1, port: {smtp.port}, starttls: false, from: ops@example.com}}
  ops-hook: {{type: webhook, url: "{hook.url}", secret: {SECRET}}}
{extra}
checks:
  mem: {{type: memory, interval: 60s}}
"""


def opsbook(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return d.run(*args)


def open_incident(d: Daemon, sev: str = "1") -> str:
    proc = opsbook(d, "incident", "open", "--sev", sev, "--title", "checkout returns 502")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def start(tmp_path: Path, made: list[Any], text: str) -> Daemon:
    d = Daemon(tmp_path, text)
    d.config.write_text(d.config.read_text().replace("__PORT__", str(d.port)))
    made.append(d)
    return d.start()


def ack_url(mail: Any) -> str:
    text = mail.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"http://127\.0\.0\.1:\d+/ack/\S+", text)
    assert found, text
    return found.group(0)


def wait(what: str, condition: Callable[[], object], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_escalation_walks_all_four_levels_then_the_ack_link_stops_it(
    tmp_path: Path, smtp: SmtpReceiver, made: list[Any]
) -> None:
    hook = HttpReceiver(respond=lambda r: 200 if signed_ok(r) else 401)
    slack = HttpReceiver()
    made += [hook, slack]
    d = start(tmp_path, made, config(smtp, hook, slack))
    incident = open_incident(d)
    wait("the crisis level", lambda: smtp.to("frank@example.com") and hook.got)
    for address in ("alice", "carol", "erin", "frank"):
        assert smtp.to(f"{address}@example.com"), address
    page = smtp.to("alice@example.com")[0]
    assert page["Subject"] == f"[SEV-1] {incident} checkout returns 502"
    text = page.get_body(preferencelist=("plain",)).get_content()
    expected_lines = (
        "What fired: checkout returns 502", "Severity: SEV-1", "Response: respond within",
        "On call: alice", f"Acknowledge: opsbook incident ack {incident}",
    )  # fmt: skip
    for expected in expected_lines:
        assert expected in text, (expected, text)
    assert page.get_body(preferencelist=("html",)) is not None  # plain text + HTML
    assert slack.bodies()[0]["text"].startswith(f"[SEV-1] {incident}")
    webhook = hook.bodies()[0]
    assert (webhook["incident_id"], webhook["severity"], webhook["kind"]) == (
        incident,
        "SEV-1",
        "page",
    )
    assert hook.got[0].headers["x-opsbook-delivery"] == webhook["delivery"]
    assert smtp.to("bob@example.com")  # the communication rule: engineering is told
    # GET shows the incident and a button, and changes nothing (link scanners fetch it)
    url = ack_url(page)
    with urllib.request.urlopen(url) as r:
        shown = r.read().decode()
    assert "<form method='post'>" in shown and incident in shown
    assert d.incidents()[0].acknowledged_at is None
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST")) as posted:
        assert "Escalation has stopped" in posted.read().decode()
    wait("the ack", lambda: d.incidents()[0].acknowledged_by == "alice (ack link)")
    kinds = [e.kind for e in d.timeline(incident)]
    assert kinds.count("page") >= 5  # 4 levels + the stakeholder update
    assert "delivery" in kinds
    bodies = [e.body for e in d.timeline(incident)]
    wait("the stop", lambda: any(b.startswith("escalation stopped: acknowledged by alice")
                                 for b in [e.body for e in d.timeline(incident)]))  # fmt: skip
    assert any(b.startswith("paging crisis team: frank (mail), channel ops-hook") for b in bodies)
    # everyone paged hears it was acknowledged
    wait("the ack notices", lambda: any(m["Subject"].startswith(f"[SEV-1] {incident} acknowledged")
                                        for m in smtp.to("frank@example.com")))  # fmt: skip
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST")) as again:
        assert "Already acknowledged" in again.read().decode()
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(url.rsplit("/", 1)[0] + "/not-a-real-token")
    assert bad.value.code == 404
    bad.value.close()
    assert all(signed_ok(r) for r in hook.got)


def test_an_ack_stops_the_ladder_before_the_next_level(
    tmp_path: Path, smtp: SmtpReceiver, made: list[Any]
) -> None:
    hook, slack = HttpReceiver(), HttpReceiver()
    made += [hook, slack]
    d = start(tmp_path, made, config(smtp, hook, slack, after="4s"))
    incident = open_incident(d)
    wait("level 1", lambda: smtp.to("alice@example.com"))
    assert opsbook(d, "incident", "ack", incident).returncode == 0
    d.wait_for(lambda: any(e.body.startswith("escalation stopped: acknowledged by tester")
                           for e in d.timeline(incident) if e.kind == "escalation"),
               "the escalation to stop")  # fmt: skip
    # Stopped before level 2 was due (4 s): a stopped escalation never advances again (the
    # ladder's logic is tested on a fake clock in test_pager.py), so no page to carol exists.
    assert _escalation(d, incident).stopped_at is not None
    assert smtp.to("carol@example.com") == [] and not _queued_for(d, "carol")


def test_a_receiver_down_for_a_while_gets_every_message_once_back(
    tmp_path: Path, smtp: SmtpReceiver, made: list[Any]
) -> None:
    up_at = [time.monotonic() + 3600]
    hook = HttpReceiver(respond=lambda r: 200 if time.monotonic() > up_at[0] else 503)
    slack = HttpReceiver()
    made += [hook, slack]
    d = start(tmp_path, made, config(smtp, hook, slack, after="1s"))
    incidents = [open_incident(d) for _ in range(2)]
    wait("the first refused attempts", lambda: len(hook.got) >= 2)
    up_at[0] = time.monotonic() + 4  # down a few seconds more, then back

    def hook_rows() -> list[Any]:
        from sqlalchemy import select

        from opsbook.store.tables import outbox

        with d.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.status, outbox.c.attempts, outbox.c.incident_id)
                                .where(outbox.c.channel == "ops-hook")).all()  # fmt: skip
        return [r for r in rows if r.status != "cancelled"]

    wait("every webhook delivered after the outage",
         lambda: (rows := hook_rows()) and all(r.status == "delivered" for r in rows),
         timeout=60)  # fmt: skip
    rows = hook_rows()
    assert {r.incident_id for r in rows} == set(incidents)
    assert max(r.attempts for r in rows) > 1  # refused with 503 first, then delivered
    keys = [r.headers["x-opsbook-delivery"] for r in hook.got]
    assert len(keys) > len(set(keys))  # the same delivery ID on every attempt


def test_kill_9_during_delivery_loses_nothing(
    tmp_path: Path, smtp: SmtpReceiver, made: list[Any]
) -> None:
    hook = HttpReceiver(delay=3.0)
    slack = HttpReceiver()
    made += [hook, slack]
    d = start(tmp_path, made, config(smtp, hook, slack, after="1s"))
    incident = open_incident(d)
    wait("level 4 reached", lambda: smtp.to("frank@example.com"))
    d.kill9()  # the crisis webhook is in flight (the receiver takes 3 s)
    first = len(hook.got)
    d.start()
    wait("the redelivery", lambda: len(hook.got) > first, timeout=60)

    def hooks_delivered() -> bool:
        from sqlalchemy import select

        from opsbook.store.tables import outbox

        with d.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.status).where(outbox.c.channel == "ops-hook"))
            statuses = [r.status for r in rows]
        return bool(statuses) and all(s == "delivered" for s in statuses)

    wait("every webhook delivered", hooks_delivered, timeout=60)
    keys = [r.headers["x-opsbook-delivery"] for r in hook.got]
    assert f"{incident}:page:4:0:ops-hook:ops-hook" in keys  # at least once, same key
    assert len(keys) >= len(set(keys))


def test_pagerduty_follows_the_incident_and_errors_are_classified(
    tmp_path: Path, smtp: SmtpReceiver, made: list[Any]
) -> None:
    calls: list[str] = []

    def pagerduty(r: Received) -> int:
        action = r.json()["event_action"]
        calls.append(action)
        if action == "trigger" and calls.count("trigger") == 1:
            return 429  # rate limited: retried
        return 202

    pd = HttpReceiver(respond=pagerduty)
    hook, slack = HttpReceiver(), HttpReceiver()
    made += [pd, hook, slack]
    extra = f'  pd: {{type: pagerduty, routing_key: R0123456789abcdef, url: "{pd.url}"}}\n'
    text = config(smtp, hook, slack, after="30s", extra=extra).replace(
        "alice: {email: alice@example.com,", "alice: {email: alice@example.com, pagerduty: pd,"
    )
    d = start(tmp_path, made, text)
    incident = open_incident(d)
    wait("the trigger, retried", lambda: calls.count("trigger") == 2, timeout=30)
    trigger = [r.json() for r in pd.got if r.json()["event_action"] == "trigger"][-1]
    assert trigger["dedup_key"] == incident
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["routing_key"] == "R0123456789abcdef"
    opsbook(d, "incident", "ack", incident)
    wait("acknowledge", lambda: "acknowledge" in calls)
    opsbook(d, "incident", "resolve", incident, "--why", "fixed")
    wait("resolve", lambda: "resolve" in calls)
    assert {r.json()["dedup_key"] for r in pd.got} == {incident}


def test_a_permanent_error_stops_retrying_and_escalates_at_once(
    tmp_path: Path, smtp: SmtpReceiver, made: list[Any]
) -> None:
    hook, slack = HttpReceiver(), HttpReceiver(respond=lambda r: 400)
    made += [hook, slack]
    d = start(tmp_path, made, config(smtp, hook, slack, after="10m"))
    incident = open_incident(d)

    def failed_on_timeline() -> bool:
        return any("failed for good: HTTP 400" in e.body for e in d.timeline(incident))

    wait("the failure on the timeline", failed_on_timeline)
    wait("level 2 without waiting 10 minutes", lambda: smtp.to("carol@example.com"), timeout=10)
    assert len(slack.got) == 1  # a 400 is not retried
    assert any("escalating to the next level now" in e.body for e in d.timeline(incident))


def test_notify_test_reports_delivery(tmp_path: Path, smtp: SmtpReceiver, made: list[Any]) -> None:
    hook, slack = HttpReceiver(), HttpReceiver(respond=lambda r: 404)
    made += [hook, slack]
    d = Daemon(tmp_path, config(smtp, hook, slack))
    ok = opsbook(d, "notify", "test", "ops-hook")
    assert ok.returncode == 0, ok.stderr
    assert "ops-hook → ops-hook: delivered (HTTP 200)" in ok.stdout
    assert hook.bodies()[0]["kind"] == "test"
    assert signed_ok(hook.got[0])
    person = opsbook(d, "notify", "test", "alice")
    assert person.returncode == 1
    assert "mail → alice: delivered" in person.stdout
    assert "person-slack → alice: FAILED (HTTP 404" in person.stdout
    assert smtp.to("alice@example.com")[0]["Subject"] == "[opsbook] test message to mail"
    assert SECRET not in person.stdout + person.stderr + ok.stdout
    unknown = opsbook(d, "notify", "test", "nobody")
    assert unknown.returncode == 3


def _escalation(d: Daemon, incident: str) -> Any:
    from sqlalchemy import select

    from opsbook.store.tables import escalations

    with d.engine.connect() as conn:
        query = select(escalations).where(escalations.c.incident_id == incident)
        return conn.execute(query).one()


def _queued_for(d: Daemon, person: str) -> list[Any]:
    from sqlalchemy import select

    from opsbook.store.tables import outbox

    with d.engine.connect() as conn:
        return conn.execute(select(outbox).where(outbox.c.recipient == person)).all()


def test_a_page_that_reaches_nobody_is_said_escalated_at_once_and_alerted(
    tmp_path: Path, smtp: SmtpReceiver, made: list[Any]
) -> None:
    """bob has an email address but there is no email channel: his page cannot go anywhere.
    It must not be 'paged bob'; the next level must not wait 10 minutes."""
    hook = HttpReceiver()
    made.append(hook)
    d = start(tmp_path, made, f"""
people:
  bob: {{email: bob@example.com}}
  carol: {{webhook: ops-hook}}
escalation:
  - {{who: [bob], after: 10m, name: on-call}}
  - {{who: [carol], after: 10m, name: manager}}
paging: {{max_repeats: 0, public_url: "http://127.0.0.1:__PORT__"}}
channels:
  ops-hook: {{type: webhook, url: "{hook.url}"}}
checks:
  mem: {{type: memory, interval: 60s}}
""")  # fmt: skip
    incident = open_incident(d)
    wait("the manager's page", lambda: [b for b in hook.bodies() if b.get("kind") == "page"
                                        and b["incident_id"] == incident], timeout=30)  # fmt: skip
    bodies = [e.body for e in d.timeline(incident)]
    assert any(b.startswith("NOT DELIVERED: on-call: bob: email address but no email channel")
               for b in bodies), bodies  # fmt: skip
    assert not any(b.startswith("paging on-call") for b in bodies)
    assert any(b.startswith("paging manager: carol (ops-hook)") for b in bodies)
    page = next(b for b in hook.bodies() if b["incident_id"] == incident)
    assert page["ack_url"].startswith(f"http://127.0.0.1:{d.port}/ack/")  # a working link
    status, _ = d.get(page["ack_url"].split(str(d.port))[1])
    assert status == 200
    health = d.wait_for(lambda: (h := d.health()) and h["status"] == "degraded" and h, "health")
    assert any("a page reached nobody" in p for p in health["problems"])
    assert d.metric("opsbook_pages_undeliverable_total") >= 1
    paging_alert = d.wait_for(lambda: d.alert("opsbook:paging"), "the paging alert")
    assert paging_alert.state == "firing" and paging_alert.severity == 2
