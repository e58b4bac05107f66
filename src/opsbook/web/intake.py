"""POST /api/v1/intake/alertmanager and /api/v1/intake/pagerduty.

Every request: a bearer token from `intake.token` (compared in constant time; PagerDuty-style
senders that cannot set headers may put it in `routing_key` instead), a body no larger than
`intake.max_body`, a payload that validates. Malformed input gets 400 with the reason and
changes nothing. 2xx only once the alerts are stored; a store failure is 503, so
Alertmanager retries (it retries only 5xx).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.alerts.intake import (
    ExternalAlert,
    parse_alertmanager,
    parse_pagerduty,
    routing_key_of,
)
from opsbook.config.daemon import IntakeConfig
from opsbook.errors import IntakeError, OpsbookError

log = logging.getLogger("opsbook.intake")
BODY_TIMEOUT = 30.0
Ingest = Callable[[Sequence[ExternalAlert]], Awaitable[int]]


class _TooLarge(IntakeError):
    """The body is larger than intake.max_body (answered 413, not 400)."""


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async with asyncio.timeout(BODY_TIMEOUT):  # a sender that trickles its body is cut off
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"status": "error", "message": reason}, status_code=status)


def intake_routes(config: IntakeConfig, ingest: Ingest) -> list[BaseRoute]:
    token = (config.token or "").encode()

    def authorised(request: Request, routing_key: str | None = None) -> bool:
        if not token:
            return False
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token):
            return True
        return routing_key is not None and hmac.compare_digest(routing_key.encode(), token)

    async def read(request: Request) -> bytes | Response:
        if not token:
            return _error(403, "intake is off: set intake.token in opsbook.yaml")
        try:
            return await _body(request, config.max_body)
        except _TooLarge:
            return _error(413, f"body larger than intake.max_body ({config.max_body} bytes)")
        except TimeoutError:
            return _error(408, f"the body did not arrive within {BODY_TIMEOUT:g} s")

    async def store(alerts: Sequence[ExternalAlert]) -> Response | int:
        try:
            return await ingest(alerts)
        except OpsbookError as exc:  # the store is down: ask the sender to retry
            log.error("intake: could not store %d alerts: %s", len(alerts), exc)  # noqa: TRY400
            return _error(503, "could not store the alerts; retry")

    async def alertmanager(request: Request) -> Response:
        if not token:
            return _error(403, "intake is off: set intake.token in opsbook.yaml")
        if not authorised(request):
            return _error(401, "missing or wrong bearer token")
        body = await read(request)
        if isinstance(body, Response):
            return body
        try:
            alerts = parse_alertmanager(body)
        except IntakeError as exc:
            return _error(400, str(exc))
        stored = await store(alerts)
        if isinstance(stored, Response):
            return stored
        return JSONResponse({"status": "success", "alerts": len(alerts), "changed": stored})

    async def pagerduty(request: Request) -> Response:
        # A bearer token, when sent, is checked before the body is even read.
        has_header = "authorization" in request.headers
        if has_header and not authorised(request):
            return _error(401, "missing or wrong bearer token / routing_key")
        body = await read(request)
        if isinstance(body, Response):
            return body
        try:
            event = parse_pagerduty(body, datetime.now(UTC))
        except IntakeError as exc:
            # Only a sender that proves who it is learns what was wrong with its event.
            if not has_header and not authorised(request, routing_key_of(body)):
                return _error(401, "missing or wrong bearer token / routing_key")
            return _error(400, str(exc))
        if not authorised(request, event.routing_key):
            return _error(401, "missing or wrong bearer token / routing_key")
        stored = await store([event.alert])
        if isinstance(stored, Response):
            return stored
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key},
            status_code=202,
        )

    return [
        Route("/api/v1/intake/alertmanager", alertmanager, methods=["POST"]),
        Route("/api/v1/intake/pagerduty", pagerduty, methods=["POST"]),
    ]
