"""http: the app's health endpoint answers, with the expected status and body, in time."""

from __future__ import annotations

import json
from typing import Any

from opsbook.clients.http import HttpResponse, request
from opsbook.config.checks import HttpCheck
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.secrets import mask_url
from opsbook.status import Status
from opsbook.units import format_duration

_MISSING = object()


def describe(check: HttpCheck) -> str:
    return mask_url(check.url)


async def run(check: HttpCheck, phase: Phase) -> Reading:
    response = await request(
        check.url,
        phase,
        method=check.method,
        headers=check.headers,
        body=check.body.encode() if check.body is not None else None,
        verify=check.verify_tls,
        ca_file=check.ca_file,
        follow_redirects=check.follow_redirects,
    )
    return assess(check, response)


def assess(check: HttpCheck, response: HttpResponse) -> Reading:
    took = response.total
    t = response.timings
    metrics = (
        Metric(
            "time", round(took, 6), Unit.SECONDS, above(check.warning), above(check.critical), 0
        ),
        Metric("time_connect", round(t.connect, 6), Unit.SECONDS, min=0),
        Metric("time_tls", round(t.tls, 6), Unit.SECONDS, min=0),
        Metric("time_first_byte", round(t.extra.get("first_byte", took), 6), Unit.SECONDS, min=0),
        Metric("size", float(len(response.body)), Unit.BYTES, min=0),
    )
    details: dict[str, Any] = {
        "http_status": response.status,
        "http_version": response.http_version,
        "timings_ms": {
            "dns": round(t.dns * 1000, 2),
            "connect": round(t.connect * 1000, 2),
            "tls": round(t.tls * 1000, 2),
            "first_byte": round(t.extra.get("first_byte", took) * 1000, 2),
            "total": round(took * 1000, 2),
        },
    }
    head = f"HTTP {response.status}"
    if response.reason:
        head += f" {response.reason}"
    expected = check.expected_statuses
    status_ok = response.status in expected if expected else 200 <= response.status < 300
    if not status_ok:
        wanted = " or ".join(str(s) for s in expected) if expected else "2xx"
        location = dict(response.headers).get("location")
        extra = f" to {mask_url(location)}" if location and 300 <= response.status < 400 else ""
        message = f"{head}{extra}, expected {wanted} ({format_duration(took)})"
        return Reading(Status.CRITICAL, message, round(took, 6), Unit.SECONDS, metrics, details)
    problem = _body_problem(check, response.body)
    if problem:
        message = f"{head} but {problem} ({format_duration(took)})"
        return Reading(Status.CRITICAL, message, round(took, 6), Unit.SECONDS, metrics, details)
    status = rising(took, check.warning, check.critical)
    message = f"{head} in {format_duration(took)}"
    if status is not Status.OK:
        limit = check.critical if status is Status.CRITICAL else check.warning
        assert limit is not None
        message += f" (slower than {format_duration(limit)})"
    return Reading(status, message, round(took, 6), Unit.SECONDS, metrics, details)


def _body_problem(check: HttpCheck, body: bytes) -> str | None:
    text = body.decode("utf-8", errors="replace")
    if check.expect_body is not None and check.expect_body not in text:
        return f"body does not contain {check.expect_body!r}"
    if check.expect_json:
        try:
            doc = json.loads(text)
        except ValueError:
            return "body is not JSON"
        for path, wanted in check.expect_json.items():
            found = _lookup(doc, path)
            if found is _MISSING:
                return f"JSON has no {path!r}"
            if found != wanted:
                return f"JSON {path} is {json.dumps(found)[:80]}, expected {json.dumps(wanted)}"
    return None


def _lookup(doc: Any, path: str) -> Any:
    """``checks.db.status`` or ``items.0.name`` in a parsed JSON document."""
    node = doc
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node
