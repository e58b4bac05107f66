"""``/api/v1``: the JSON API over the same core the CLI uses, with the CLI's JSON shapes.

Every endpoint but the OpenAPI document takes ``Authorization: Bearer <token>`` (`opsbook
token create NAME --role …`): a viewer reads, a responder also acts on incidents. Errors are
``{"error": "…"}`` with their status code. Acts are recorded under the token's name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts import tokens
from opsbook.accounts.tokens import Token
from opsbook.config.actions import Role
from opsbook.errors import IncidentError, OpsbookError, UsageError
from opsbook.web.api_more import more_routes
from opsbook.web.auth import Recent
from opsbook.web.incident_view import incident_doc
from opsbook.web.openapi import document

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

Handler = Callable[[Request, Token], Awaitable[Response]]
MAX_LIMIT = 500
TOKENS = Recent()  # a revoked token stops working within Recent.TTL (5 s)
RESPONDER = Role.RESPONDER


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def guarded(
    d: Daemon, handler: Handler, role: Role = Role.VIEWER
) -> Callable[[Request], Awaitable[Response]]:
    """The token checked (and its role, for an act), errors turned into JSON."""

    async def endpoint(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            return error(
                401,
                "an API token is needed: Authorization: Bearer <token> "
                "(opsbook token create NAME --role viewer)",
            )
        found: Token | None = TOKENS.get(given.strip())
        if found is None:
            found = await d.in_store(
                lambda: tokens.authenticate(d.store.engine, given.strip(), d.clock())
            )
            if found is not None:
                TOKENS.put(given.strip(), found)
        if found is None:
            return error(401, "unknown or revoked token")
        if role is not Role.VIEWER and found.role is Role.VIEWER:
            return error(403, f"token {found.name} is a viewer's: it reads, it does not act")
        try:
            return await handler(request, found)
        except IncidentError as exc:
            return error(404 if str(exc).startswith("no ") else 409, str(exc))
        except UsageError as exc:  # "no silence 9", "no check named …": not found
            return error(404 if str(exc).startswith("no ") else 400, str(exc))
        except OpsbookError as exc:
            return error(503, str(exc))

    return endpoint


class Api:
    def __init__(self, d: Daemon) -> None:
        self.d = d

    async def incidents(self, request: Request, _: Token) -> Response:
        from opsbook.output.incidents import incident_dict
        from opsbook.timefmt import parse_since

        q = request.query_params
        try:
            limit = min(int(q.get("limit", "50")), MAX_LIMIT)
            offset = max(int(q.get("offset", "0")), 0)
            severities = [int(s) for s in q.getlist("severity")]
        except ValueError:
            return error(400, "limit, offset and severity are numbers")
        now = self.d.clock()
        since = parse_since(q["since"], now) if q.get("since") else None
        open_only = q.get("open", "").lower() in ("1", "true", "yes")
        page, total = await self.d.in_store(
            lambda: self.d.incidents.page(
                open_only=open_only, severities=severities, since=since,
                text=q.get("q", ""), limit=limit, offset=offset,
            )
        )  # fmt: skip
        policy = self.d.incidents.policy
        return JSONResponse(
            {
                "incidents": [incident_dict(i, policy, now) for i in page],
                "total": total,
                "limit": limit,
                "offset": offset,
            }
        )

    async def incident(self, request: Request, _: Token) -> Response:
        return JSONResponse(await incident_doc(self.d, request.path_params["id"]))

    async def ack(self, request: Request, who: Token) -> Response:
        incident_id = request.path_params["id"]
        await self.d.in_store(lambda: self.d.incidents.acknowledge(incident_id, who.name))
        await self.d.page_now()  # the escalation stops now, not at the next round
        return JSONResponse(await incident_doc(self.d, incident_id))

    async def note(self, request: Request, who: Token) -> Response:
        incident_id = request.path_params["id"]
        body = await _json(request)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return error(400, 'expected {"text": "what happened"}')
        await self.d.in_store(lambda: self.d.incidents.note(incident_id, text, who.name))
        return JSONResponse(await incident_doc(self.d, incident_id), status_code=201)

    async def checks(self, _: Request, __: Token) -> Response:
        from opsbook.output.checks import result_dict

        latest = sorted(self.d.state.latest.values(), key=lambda r: r.name)
        return JSONResponse({"checks": [result_dict(r) for r in latest]})

    async def alerts(self, _: Request, __: Token) -> Response:
        from opsbook.alerts.store import alerts_and_events
        from opsbook.timefmt import iso

        found, _events = await self.d.in_store(lambda: alerts_and_events(self.d.store.engine))
        return JSONResponse(
            {
                "alerts": [
                    {
                        "fingerprint": a.fingerprint,
                        "name": a.name,
                        "source": a.source.value,
                        "state": a.state.value,
                        "level": a.level.name,
                        "severity": f"SEV-{a.severity}" if a.severity else None,
                        "summary": a.summary,
                        "firing_since": iso(a.firing_since),
                        "incident_id": a.incident_id,
                        "labels": a.labels,
                    }
                    for a in found
                ]
            }
        )

    async def jobs(self, _: Request, __: Token) -> Response:
        from opsbook.jobs import records
        from opsbook.output.jobs import run_json

        names = list(self.d.config.jobs)
        newest = await self.d.in_store(
            lambda: records.latest(self.d.store.engine, names, per_job=1)
        )
        return JSONResponse(
            {
                "jobs": [
                    {
                        "name": name,
                        "action": job.action_kind.value,
                        "schedule": job.schedule,
                        "last": run_json(newest[name][0]) if newest[name] else None,
                    }
                    for name, job in self.d.config.jobs.items()
                ]
            }
        )

    async def openapi(self, _: Request) -> Response:
        return JSONResponse(document())


def api_routes(d: Daemon) -> list[BaseRoute]:
    api = Api(d)
    v1 = "/api/v1"
    return [
        Route(f"{v1}/openapi.json", api.openapi, methods=["GET"]),
        Route(f"{v1}/incidents", guarded(d, api.incidents), methods=["GET"]),
        Route(f"{v1}/incidents/{{id}}", guarded(d, api.incident), methods=["GET"]),
        Route(f"{v1}/incidents/{{id}}/ack", guarded(d, api.ack, Role.RESPONDER), methods=["POST"]),
        Route(
            f"{v1}/incidents/{{id}}/notes", guarded(d, api.note, Role.RESPONDER), methods=["POST"]
        ),
        Route(f"{v1}/checks", guarded(d, api.checks), methods=["GET"]),
        Route(f"{v1}/alerts", guarded(d, api.alerts), methods=["GET"]),
        Route(f"{v1}/jobs", guarded(d, api.jobs), methods=["GET"]),
        *more_routes(d, guarded),
    ]


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise UsageError("the body is not JSON") from None
