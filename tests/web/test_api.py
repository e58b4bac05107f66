"""/api/v1 on a real daemon: token auth and roles, the CLI's JSON shapes, acts recorded under
the token's name, errors as {"error": …}, and an OpenAPI document that validates and lists
every route."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from tests.support.daemon import Daemon


def call(d: Daemon, method: str, path: str, token: str | None = None,
         body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:  # fmt: skip
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{d.port}{path}", data=data,
                                     method=method)  # fmt: skip
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def opsbook(d: Daemon, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "opsbook", *args, "--config", str(d.config)],
                          capture_output=True, text=True, check=True, timeout=60,
                          env={**os.environ, "OPSBOOK_USER": "tester"})  # fmt: skip
    return done.stdout


def test_the_api_reads_and_acts_with_tokens_and_roles(tmp_path: Path) -> None:
    d = Daemon(tmp_path, "checks:\n  mem: {type: memory, interval: 1s}\n")
    try:
        d.start()
        viewer = opsbook(d, "token", "create", "grafana", "--role", "viewer").strip()
        responder = opsbook(d, "token", "create", "oncall-bot", "--role", "responder").strip()
        incident = opsbook(d, "incident", "open", "--sev", "2", "--title", "checkout 502").strip()
        opsbook(d, "incident", "open", "--sev", "4", "--title", "slow admin page")
        status, body = call(d, "GET", "/api/v1/incidents")
        assert status == 401 and "Authorization: Bearer" in body["error"]
        assert call(d, "GET", "/api/v1/incidents", "obk_wrong")[0] == 401
        status, page = call(d, "GET", "/api/v1/incidents?severity=2", viewer)
        assert status == 200 and page["total"] == 1
        cli_shape = json.loads(opsbook(d, "incident", "list", "-f", "json"))
        listed = cli_shape if isinstance(cli_shape, list) else cli_shape["incidents"]
        [same] = [i for i in listed if i["id"] == incident]
        assert set(page["incidents"][0]) == set(same)  # the CLI's JSON shape
        status, page = call(d, "GET", "/api/v1/incidents?limit=1&offset=1", viewer)
        assert (page["total"], len(page["incidents"]), page["offset"]) == (2, 1, 1)
        assert call(d, "GET", "/api/v1/incidents?limit=x", viewer)[0] == 400
        assert call(d, "GET", "/api/v1/incidents?since=sometime", viewer)[0] == 400
        status, body = call(d, "POST", f"/api/v1/incidents/{incident}/ack", viewer, {})
        assert status == 403 and "viewer" in body["error"]
        status, acked = call(d, "POST", f"/api/v1/incidents/{incident}/ack", responder, {})
        assert status == 200 and acked["acknowledged_by"] == "oncall-bot"
        status, _ = call(d, "POST", f"/api/v1/incidents/{incident}/ack", responder, {})
        assert status == 409  # already acknowledged
        status, noted = call(d, "POST", f"/api/v1/incidents/{incident}/notes", responder,
                             {"text": "rolled back deploy 4812"})  # fmt: skip
        assert status == 201
        assert noted["timeline"][-1]["body"] == "rolled back deploy 4812"
        assert noted["timeline"][-1]["actor"] == "oncall-bot"
        shown = json.loads(opsbook(d, "incident", "show", incident, "-f", "json"))
        assert shown["timeline"][-1]["body"] == "rolled back deploy 4812"  # the CLI sees it
        assert call(d, "POST", f"/api/v1/incidents/{incident}/notes", responder,
                    raw=b"{not json")[0] == 400  # fmt: skip
        assert call(d, "POST", f"/api/v1/incidents/{incident}/notes", responder, {"x": 1})[0] == 400
        status, body = call(d, "GET", "/api/v1/incidents/INC-2020-01-01-9", viewer)
        assert status == 404 and "INC-2020-01-01-9" in body["error"]
        d.wait_for(lambda: call(d, "GET", "/api/v1/checks", viewer)[1]["checks"], "a result")
        [mem] = call(d, "GET", "/api/v1/checks", viewer)[1]["checks"]
        assert mem["name"] == "mem" and mem["type"] == "memory" and mem["status"] == "OK"
        assert call(d, "GET", "/api/v1/alerts", viewer)[0] == 200
        assert call(d, "GET", "/api/v1/jobs", viewer)[1] == {"jobs": []}
        tokens = json.loads(opsbook(d, "token", "list", "-f", "json"))["tokens"]
        assert viewer not in json.dumps(tokens)  # never shown again
        grafana = next(t for t in tokens if t["name"] == "grafana")
        assert grafana["last_used_at"] is not None
        opsbook(d, "token", "revoke", str(grafana["id"]))
        # a daemon remembers a token for 5 s (docs/console.md): revoked, it stops within that
        d.wait_for(lambda: call(d, "GET", "/api/v1/incidents", viewer)[0] == 401,
                   "the revoked token to be refused", timeout=10)  # fmt: skip
    finally:
        d.close()


def test_the_openapi_document_validates_and_lists_every_route(tmp_path: Path) -> None:
    from opsbook.web.openapi import document

    doc = document()
    validate(doc)
    d = Daemon(tmp_path, "checks:\n  mem: {type: memory, interval: 60s}\n")
    try:
        d.start()
        status, served = call(d, "GET", "/api/v1/openapi.json")
        assert status == 200 and served == json.loads(json.dumps(doc))
    finally:
        d.close()
    from starlette.routing import Route

    from opsbook.web.api import api_routes

    class Stub:  # api_routes only reads attributes when a request comes
        pass

    paths = {r.path.removeprefix("/api/v1") for r in api_routes(Stub())  # type: ignore[arg-type]
             if isinstance(r, Route)} - {"/openapi.json"}  # fmt: skip
    assert paths == set(doc["paths"])


ROTA = """\
people:
  alice: {email: alice@example.com}
  bob: {email: bob@example.com}
schedules:
  primary: {timezone: UTC, rotation: weekly, handoff: "monday 09:00", members: [alice, bob]}
escalation:
  - who: [primary]
checks:
  mem: {type: memory, interval: 1s}
"""


def test_incident_acts_timeline_filters_and_history_over_the_api(tmp_path: Path) -> None:
    d = Daemon(tmp_path, ROTA)
    try:
        d.start()
        viewer = opsbook(d, "token", "create", "grafana", "--role", "viewer").strip()
        bot = opsbook(d, "token", "create", "chatops", "--role", "responder").strip()
        incident = opsbook(d, "incident", "open", "--sev", "3", "--title", "slow").strip()
        base = f"/api/v1/incidents/{incident}"
        assert call(d, "POST", f"{base}/severity", viewer, {"level": 1, "why": "x"})[0] == 403
        status, doc = call(d, "POST", f"{base}/severity", bot, {"level": 1, "why": "all down"})
        assert status == 200 and doc["severity"] == "SEV-1"
        assert call(d, "POST", f"{base}/severity", bot, {"level": "1"})[0] == 400
        assert call(d, "POST", f"{base}/phase", bot, {"phase": "contained"})[1]["phase"] == (
            "contained")  # fmt: skip
        assert call(d, "POST", f"{base}/phase", bot, {"phase": "asleep"})[0] == 400
        assert call(d, "POST", f"{base}/assign", bot, {"person": "bob"})[1]["commander"] == "bob"
        assert call(d, "POST", f"{base}/assign", bot, {"person": "mallory"})[0] == 404
        status, doc = call(d, "POST", f"{base}/resolve", bot, {"why": "restarted"})
        assert status == 200 and doc["phase"] == "resolved"
        assert call(d, "POST", f"{base}/resolve", bot, {"why": "again"})[0] == 409
        assert call(d, "POST", f"{base}/reopen", bot, {})[1]["phase"] != "resolved"
        status, people = call(d, "GET", f"{base}/timeline?group=humans", viewer)
        assert status == 200 and people["timeline"]
        assert all(e["kind"] not in ("page", "delivery", "alert") for e in people["timeline"])
        assert {e["actor"] for e in people["timeline"]} >= {"chatops"}
        assert call(d, "GET", f"{base}/timeline?group=gossip", viewer)[0] == 400
        assert call(d, "GET", "/api/v1/incidents/INC-2020-01-01-1/timeline", viewer)[0] == 404
        d.wait_runs("mem", 2)
        status, history = call(d, "GET", "/api/v1/checks/mem/history?since=1h", viewer)
        cli = json.loads(opsbook(d, "history", "mem", "--since", "1h", "-f", "json"))
        assert status == 200 and set(history) == set(cli)  # the CLI's shape
        assert call(d, "GET", "/api/v1/checks/nope/history", viewer)[0] == 404
        assert call(d, "GET", "/api/v1/actions/log", viewer)[1] == {"runs": []}
        assert call(d, "GET", "/api/v1/backups", viewer)[1] == {"backups": []}
    finally:
        d.close()


def test_silences_and_overrides_made_over_the_api_are_what_the_cli_sees(tmp_path: Path) -> None:
    d = Daemon(tmp_path, ROTA)
    try:
        d.start()
        viewer = opsbook(d, "token", "create", "grafana", "--role", "viewer").strip()
        bot = opsbook(d, "token", "create", "chatops", "--role", "responder").strip()
        body = {"matcher": "mem", "for": "2h", "why": "resizing the VM"}
        assert call(d, "POST", "/api/v1/silences", viewer, body)[0] == 403
        status, made = call(d, "POST", "/api/v1/silences", bot, body)
        assert status == 201 and made["created_by"] == "chatops"
        listed = json.loads(opsbook(d, "silence", "list", "-f", "json"))
        assert [s["id"] for s in listed] == [made["id"]]
        assert call(d, "POST", "/api/v1/silences", bot, {"matcher": "mem", "why": "x"})[0] == 400
        assert call(d, "GET", "/api/v1/silences", viewer)[1]["silences"][0]["why"] == (
            "resizing the VM")  # fmt: skip
        status, ended = call(d, "DELETE", f"/api/v1/silences/{made['id']}", bot)
        assert status == 200 and ended["expired_by"] == "chatops"
        assert json.loads(opsbook(d, "silence", "list", "-f", "json")) == []
        assert call(d, "DELETE", "/api/v1/silences/999", bot)[0] == 404
        before = call(d, "GET", "/api/v1/oncall", viewer)[1]["oncall"][0]["person"]
        other = "bob" if before == "alice" else "alice"
        window = {"schedule": "primary", "person": other, "from": "2020-01-01T00:00:00Z",
                  "until": "2099-01-01T00:00:00Z", "why": "swap"}  # fmt: skip
        status, override = call(d, "POST", "/api/v1/oncall/overrides", bot, window)
        assert status == 201
        assert json.loads(opsbook(d, "oncall", "now", "-f", "json"))[0]["person"] == other
        assert call(d, "GET", "/api/v1/oncall", viewer)[1]["oncall"][0]["person"] == other
        assert call(d, "POST", "/api/v1/oncall/overrides", bot,
                    {**window, "from": "2020-01-01"})[0] == 400  # no offset  # fmt: skip
        assert call(d, "POST", "/api/v1/oncall/overrides", bot,
                    {**window, "person": "mallory"})[0] == 404  # fmt: skip
        assert call(d, "DELETE", f"/api/v1/oncall/overrides/{override['id']}", bot)[0] == 200
        assert json.loads(opsbook(d, "oncall", "now", "-f", "json"))[0]["person"] == before
    finally:
        d.close()
