"""/ack/<token>: GET shows the incident and a button; only POST acknowledges.

Chat unfurlers and mail scanners fetch links, so a GET must never change anything. The token
is single-purpose (one incident, one person), unguessable, stored hashed, and expires.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.model import severity_label
from opsbook.paging import acks
from opsbook.paging.acks import Link

InStore = Callable[[Callable[[], Any]], Awaitable[Any]]


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'><meta name='robots' content='noindex'>"
        f"<title>{html.escape(title)}</title><style>body{{font:16px system-ui,sans-serif;"
        "max-width:36rem;margin:3rem auto;padding:0 1rem}button{font-size:1.1rem;padding:.6rem "
        "1.4rem}</style></head><body>" + body + "</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def ack_routes(
    engine: Engine,
    incidents: Incidents,
    in_store: InStore,
    after_ack: Callable[[], Awaitable[object]],
) -> list[BaseRoute]:
    async def show(request: Request) -> Response:
        token = request.path_params["token"]
        found: acks.Looked = await in_store(lambda: acks.look(engine, token, datetime.now(UTC)))
        if found.link is Link.ALREADY and found.incident is not None:
            used = found.incident
            return _page(
                used.id,
                f"<h1>{html.escape(used.id)}</h1><p>This link has been used. Acknowledged "
                f"by {html.escape(used.acknowledged_by or '?')}.</p>",
            )
        if found.link is not Link.VALID:
            return _page(
                "Link not valid",
                "<h1>This acknowledgement link is not valid</h1>"
                f"<p>It is {found.link.value}. Acknowledge with <code>opsbook incident ack "
                "ID</code>.</p>",
                404 if found.link is Link.UNKNOWN else 410,
            )
        incident, token_of = found.incident, found.token
        assert incident is not None and token_of is not None  # a valid link has both
        head = (
            f"{html.escape(incident.id)} · {severity_label(incident.severity)}: "
            f"{html.escape(incident.title)}"
        )
        if incident.acknowledged_at is not None:
            return _page(
                incident.id,
                f"<h1>{head}</h1><p>Already acknowledged by "
                f"{html.escape(incident.acknowledged_by or '?')}.</p>",
            )
        if not incident.is_open:
            return _page(incident.id, f"<h1>{head}</h1><p>It is {incident.phase.value}.</p>")
        return _page(
            incident.id,
            f"<h1>{head}</h1><p>Phase: {incident.phase.value}. "
            f"Acknowledge as {html.escape(token_of.person)}?</p>"
            "<form method='post'><button type='submit'>Acknowledge</button></form>",
        )

    async def post(request: Request) -> Response:
        token = request.path_params["token"]
        now = datetime.now(UTC)
        done: acks.Looked = await in_store(lambda: acks.acknowledge(engine, incidents, token, now))
        incident = done.incident
        if incident is None:
            return _page(
                "Link not valid", "<h1>This acknowledgement link is not valid any more</h1>", 410
            )
        if done.link is Link.ACKNOWLEDGED:
            await after_ack()
            return _page(
                incident.id,
                f"<h1>Acknowledged {html.escape(incident.id)}</h1><p>"
                "Escalation has stopped. Thank you.</p>",
            )
        return _page(
            incident.id,
            f"<h1>{html.escape(incident.id)}</h1><p>Already acknowledged "
            f"by {html.escape(incident.acknowledged_by or '?')}, or no longer open.</p>",
        )

    return [
        Route("/ack/{token}", show, methods=["GET"]),
        Route("/ack/{token}", post, methods=["POST"]),
    ]
