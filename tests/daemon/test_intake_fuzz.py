"""Both intakes against random and hostile bodies (Hypothesis), in-process through the real
ASGI app: never a 500, never a traceback, and only a sender that proves who it is learns why
its body was refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from opsbook.alerts.intake import ExternalAlert
from opsbook.config.daemon import IntakeConfig
from opsbook.web.intake import intake_routes

TOKEN = "intake-token-0123456789abcdef"
PATHS = ("/api/v1/intake/alertmanager", "/api/v1/intake/pagerduty")
ALLOWED = {200, 202, 400, 401, 413}

stored: list[ExternalAlert] = []


async def ingest(alerts: Sequence[ExternalAlert]) -> int:
    stored.extend(alerts)
    return len(alerts)


APP = Starlette(routes=intake_routes(IntakeConfig(token=TOKEN, max_body=64 * 1024), ingest))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
HOSTILE = [
    b'{"routing_key":"\\ud800","event_action":"trigger"}',
    b'{"routing_key":"' + TOKEN.encode() + b'","event_action":"trigger","payload":'
    b'{"summary":"\\udfff","source":"x","severity":"critical"}}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"version":"4","groupKey":"k","status":"firing","alerts":[{"status":"firing",'
    b'"labels":{"alertname":"\\ud800"},"startsAt":"2026-11-28T09:00:00Z"}]}',
    b'{"version":"4","groupKey":"k","status":"firing","alerts":[{"status":"firing",'
    b'"labels":{},"startsAt":"not a time"}]}',
    b"\xff\xfe\x00garbage",
    b"",
    b"null",
    b'{"routing_key": 12, "event_action": "trigger"}',
    b'{"routing_key": "' + b"k" * 60_000 + b'"}',
]


def post(path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=APP, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://opsbook") as client:
            return await client.post(path, content=body, headers=headers)

    return asyncio.run(go())


def check(response: httpx.Response, authenticated: bool) -> None:
    assert response.status_code in ALLOWED, (response.status_code, response.text[:300])
    doc = response.json()  # always JSON, never a traceback page
    assert "Traceback" not in response.text
    if not authenticated and response.status_code == 400:
        # an anonymous sender learns nothing of what it sent wrong, except a routing_key
        # body that proved who it is (PagerDuty's own authentication)
        assert TOKEN in response.request.content.decode(errors="replace"), doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(PATHS),
    body=st.one_of(st.binary(max_size=2000), json_values.map(lambda v: json.dumps(v).encode())),
    authenticated=st.booleans(),
)
def test_random_bodies_never_break_an_intake(path: str, body: bytes, authenticated: bool) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"} if authenticated else {}
    check(post(path, body, headers), authenticated)


@settings(max_examples=200, deadline=None)
@given(
    routing_key=st.one_of(st.just(TOKEN), st.text(max_size=40)),
    action=st.sampled_from(["trigger", "acknowledge", "resolve", "bogus"]),
    summary=st.text(max_size=200),
    severity=st.sampled_from(["critical", "error", "warning", "info", "fatal"]),
    dedup=st.text(max_size=40),
)
def test_pagerduty_shaped_events_with_random_fields(
    routing_key: str, action: str, summary: str, severity: str, dedup: str
) -> None:
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": action,
                             "dedup_key": dedup, "payload": {"summary": summary,
                             "source": "fuzz", "severity": severity}}  # fmt: skip
    response = post(PATHS[1], json.dumps(event).encode(), {})
    check(response, authenticated=routing_key == TOKEN)
    if routing_key != TOKEN:
        assert response.status_code == 401


def test_hostile_bodies_are_refused_cleanly() -> None:
    for path in PATHS:
        for body in HOSTILE:
            for authenticated in (True, False):
                headers = {"Authorization": f"Bearer {TOKEN}"} if authenticated else {}
                check(post(path, body, headers), authenticated)


def test_a_wrong_bearer_token_is_refused_before_the_body_is_read() -> None:
    response = post(PATHS[1], b"[" * 100_000, {"Authorization": "Bearer wrong-token-wrong-token"})
    assert response.status_code == 401
