"""Alertmanager and PagerDuty-shaped deliveries to a real daemon."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import Daemon
from tests.support.servers import PostgresServer

TOKEN = "intake-token-0123456789abcdef"
CONFIG = f"""
intake:
  token: {TOKEN}
  severities:
    critical: SEV-1
checks:
  mem:
    type: memory
    interval: 60s
"""


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path, CONFIG)
    d.start()
    yield d
    d.close()


def post(d: Daemon, path: str, body: Any, token: str | None = TOKEN) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{d.port}{path}", data=data,
                                     headers=headers, method="POST")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def am_payload(
    status: str = "firing", severity: str = "critical", ends: str = ""
) -> dict[str, Any]:
    alert = {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": severity, "service": "api"},
        "annotations": {"summary": "5xx above 5% for 5 minutes"},
        "startsAt": "2026-11-28T09:00:00.000Z",
        "endsAt": ends or "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "a1b2c3d4e5f60718",
    }
    return {"version": "4", "groupKey": "{}:{alertname=\"HighErrorRate\"}", "status": status,
            "receiver": "opsbook", "groupLabels": {}, "commonLabels": {}, "externalURL": "x",
            "alerts": [alert]}  # fmt: skip


def too_large(d: Daemon, path: str) -> int:
    """Announce a 2 MB body and wait: the daemon answers 413 before reading it."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    conn.putrequest("POST", path)
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", "2000000")
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    return status


AM = "/api/v1/intake/alertmanager"
PD = "/api/v1/intake/pagerduty"


def test_alertmanager_firing_then_resolved_is_one_incident_and_idempotent(daemon: Daemon) -> None:
    code, body = post(daemon, AM, am_payload())
    assert (code, body["changed"]) == (200, 1)
    [incident] = daemon.incidents()
    assert incident.severity == 1  # severity: critical -> SEV-1 by the config
    assert incident.title == "HighErrorRate: 5xx above 5% for 5 minutes"
    assert post(daemon, AM, am_payload()) == (200, {"status": "success", "alerts": 1, "changed": 0})
    assert len(daemon.incidents()) == 1
    code, body = post(daemon, AM, am_payload("resolved", ends="2026-11-28T09:20:00Z"))
    assert (code, body["changed"]) == (200, 1)
    assert post(daemon, AM, am_payload("resolved", ends="2026-11-28T09:20:00Z"))[1]["changed"] == 0
    kinds = [e.body for e in daemon.timeline(incident.id) if e.kind == "alert"]
    assert kinds[0].startswith("alert HighErrorRate firing (CRITICAL)")
    assert kinds[-1] == "alert HighErrorRate resolved: resolved by alertmanager"
    assert daemon.incidents()[0].phase == "triage"  # a human resolves it


def test_a_new_episode_of_the_same_alert_attaches_to_the_open_incident(daemon: Daemon) -> None:
    post(daemon, AM, am_payload())
    post(daemon, AM, am_payload("resolved", ends="2026-11-28T09:20:00Z"))
    again = am_payload()
    again["alerts"][0]["startsAt"] = "2026-11-28T10:00:00Z"
    assert post(daemon, AM, again)[1]["changed"] == 1
    [incident] = daemon.incidents()
    firing = [e for e in daemon.timeline(incident.id) if "firing" in e.body]
    assert len(firing) == 2


def test_bad_tokens_and_garbage_change_nothing(daemon: Daemon) -> None:
    assert post(daemon, AM, am_payload(), token=None)[0] == 401
    assert post(daemon, AM, am_payload(), token="wrong-token-0123456789")[0] == 401
    code, body = post(daemon, AM, b"{not json")
    assert code == 400
    assert body["message"].startswith("body is not JSON")
    wrong = am_payload()
    wrong["version"] = "3"
    assert post(daemon, AM, wrong) == (
        400, {"status": "error", "message": 'unsupported Alertmanager webhook version \'3\'; '
              'expected "4"'},
    )  # fmt: skip
    missing = am_payload()
    del missing["alerts"][0]["startsAt"]
    code, body = post(daemon, AM, missing)
    assert code == 400
    assert "startsAt" in body["message"]
    assert too_large(daemon, AM) == 413
    assert daemon.incidents() == []
    assert daemon.alert("alertmanager:a1b2c3d4e5f60718") is None


def test_pagerduty_trigger_ack_resolve(daemon: Daemon) -> None:
    payload = {"summary": "disk 97% on db1", "source": "db1", "severity": "critical"}
    trigger = {"routing_key": TOKEN, "event_action": "trigger", "dedup_key": "disk-db1",
               "payload": payload}  # fmt: skip
    code, body = post(daemon, PD, trigger, token=None)  # routing_key is the credential
    assert (code, body["dedup_key"]) == (202, "disk-db1")
    [incident] = daemon.incidents()
    assert incident.severity == 1
    assert post(daemon, PD, trigger, token=None)[0] == 202
    assert len(daemon.incidents()) == 1
    ack = {"routing_key": TOKEN, "event_action": "acknowledge", "dedup_key": "disk-db1"}
    assert post(daemon, PD, ack, token=None)[0] == 202
    assert daemon.incidents()[0].acknowledged_by == "intake"
    resolve = {"routing_key": TOKEN, "event_action": "resolve", "dedup_key": "disk-db1"}
    assert post(daemon, PD, resolve, token=None)[0] == 202
    assert any(e.body.startswith("alert db1 resolved") for e in daemon.timeline(incident.id))
    code, body = post(daemon, PD, {"routing_key": TOKEN, "event_action": "resolve"}, token=None)
    assert code == 400
    assert "needs the dedup_key" in body["message"]
    wrong = {**trigger, "routing_key": "not-the-token-000000"}
    assert post(daemon, PD, wrong, token=None)[0] == 401


def test_informational_alerts_are_recorded_not_paged(daemon: Daemon) -> None:
    payload = {"summary": "nightly job slow", "source": "cron", "severity": "info"}
    info = {"routing_key": TOKEN, "event_action": "trigger", "payload": payload}
    code, body = post(daemon, PD, info, token=None)
    assert code == 202
    assert daemon.incidents() == []
    alert = daemon.alert(f"pagerduty:{body['dedup_key']}")
    assert alert.state == "firing"
    assert alert.severity == 4


def test_intake_without_a_token_configured_is_off(tmp_path: Path) -> None:
    d = Daemon(tmp_path, "checks:\n  mem:\n    type: memory\n")
    d.start()
    try:
        code, body = post(d, AM, am_payload(), token="anything-at-all-123456")
        assert code == 403
        assert body["message"] == "intake is off: set intake.token in opsbook.yaml"
        assert post(d, PD, {"routing_key": "x"}, token=None)[0] == 403
    finally:
        d.close()


def test_a_store_failure_is_503_so_the_sender_retries(
    tmp_path: Path, pg_fresh: PostgresServer
) -> None:
    d = Daemon(tmp_path, CONFIG, store=pg_fresh.dsn())
    d.start()
    try:
        pg_fresh.stop()
        code, body = post(d, AM, am_payload())
        assert code == 503
        assert body["message"] == "could not store the alerts; retry"
        pg_fresh.start()
        assert post(d, AM, am_payload())[0] == 200
        assert len(d.incidents()) == 1
    finally:
        d.close()


def test_a_starts_at_in_the_future_fires_now_and_keeps_the_senders_time(daemon: Daemon) -> None:
    """amtool sends startsAt a little in the future; the alert fires at receipt."""
    payload = am_payload()
    payload["alerts"][0]["startsAt"] = "2099-01-01T00:00:00Z"
    status, _ = post(daemon, "/api/v1/intake/alertmanager", payload)
    assert status == 200
    [incident] = daemon.wait_for(daemon.incidents, "the incident")
    assert incident.opened_at.year < 2099
    firing = next(e for e in daemon.timeline(incident.id) if e.kind == "alert")
    assert firing.data["reported_at"].startswith("2099-01-01")
