"""``/api/v1`` beyond incidents: the timeline with filters, incident acts (severity, phase,
assign, resolve, reopen), silences, on call and overrides, a check's history, backups and
the actions log. The CLI's JSON shapes; errors and auth as in web/api.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts.tokens import Token
from opsbook.config.actions import Role
from opsbook.errors import UsageError
from opsbook.incidents.model import EntryKind, Phase

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

GROUPS = {"humans", "alerts", "deliveries"}
VERBS = ("severity", "phase", "assign", "resolve", "reopen")


def _field(body: Any, name: str, what: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f'expected {{"{name}": "{what}"}}')
    return value.strip()


def _time(text: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what}: expected an ISO time such as 2026-12-05T18:00:00Z") from None
    if parsed.tzinfo is None:
        raise UsageError(f"{what}: give the offset (Z or +01:00)")
    return parsed


class MoreApi:
    def __init__(self, d: Daemon) -> None:
        self.d = d
        self.running: set[asyncio.Task[None]] = set()

    async def _doc(self, incident_id: str, status: int = 200) -> Response:
        from opsbook.web.incident_view import incident_doc

        return JSONResponse(await incident_doc(self.d, incident_id), status_code=status)

    async def timeline(self, request: Request, _: Token) -> Response:
        from opsbook.incidents.records import read_timeline
        from opsbook.output.incidents import entry_dict
        from opsbook.web.incident_view import entry_group

        incident_id = request.path_params["id"]
        wanted = set(request.query_params.getlist("group"))
        if wanted - GROUPS:
            raise UsageError(f"group: one of {', '.join(sorted(GROUPS))}")

        def read() -> list[Any]:
            self.d.incidents.get(incident_id)  # 404 for an unknown incident
            return read_timeline(self.d.store.engine, [incident_id])[incident_id]

        entries = await self.d.in_store(read)
        shown = [entry_dict(e) for e in entries
                 if not wanted or entry_group(EntryKind(e.kind)) in wanted]  # fmt: skip
        return JSONResponse({"incident_id": incident_id, "timeline": shown})

    async def act(self, request: Request, who: Token) -> Response:
        incident_id, verb = request.path_params["id"], request.url.path.rsplit("/", 1)[1]
        body = await _body(request)
        inc = self.d.incidents
        if verb == "severity":
            level = body.get("level") if isinstance(body, dict) else None
            if not isinstance(level, int):
                raise UsageError('expected {"level": 1, "why": "…"}')
            why = _field(body, "why", "why the severity changes")
            await self.d.in_store(lambda: inc.change_severity(incident_id, level, why, who.name))
        elif verb == "phase":
            try:
                phase = Phase(_field(body, "phase", "investigating"))
            except ValueError:
                raise UsageError(f"phase: one of {', '.join(p.value for p in Phase)}") from None
            await self.d.in_store(lambda: inc.set_phase(incident_id, phase, who.name))
        elif verb == "assign":
            person = _field(body, "person", "a person under people:")
            if person not in self.d.config.paging.people:
                raise UsageError(f"no person {person!r} under people: in opsbook.yaml")
            await self.d.in_store(lambda: inc.assign(incident_id, person, who.name))
        elif verb == "resolve":
            why = _field(body, "why", "how it was resolved")
            await self.d.in_store(lambda: inc.resolve(incident_id, why, who.name))
        else:  # reopen
            why = str(body.get("why", "")) if isinstance(body, dict) else ""
            await self.d.in_store(lambda: inc.reopen(incident_id, who.name, why))
        if verb in ("severity", "resolve", "reopen"):
            await self.d.page_now()
        return await self._doc(incident_id)

    async def run_action(self, request: Request, who: Token) -> Response:
        """Run a containment action for an incident, in the background (202): its start and
        end go on the timeline under the token's name."""
        from opsbook.web.incident_view import start_action

        incident_id, name = request.path_params["id"], request.path_params["action"]
        action = self.d.config.actions.get(name)
        if action is None:
            raise UsageError(f"no action {name!r} under actions: in opsbook.yaml")
        if who.role not in action.roles:
            roles = ", ".join(r.value for r in action.roles)
            return JSONResponse({"error": f"token {who.name} is a {who.role.value}; action "
                                 f"{name} may be run by: {roles}"}, status_code=403)  # fmt: skip
        await self.d.in_store(lambda: self.d.incidents.get(incident_id))
        start_action(self.d, self.running, name, action, incident_id, who.name)
        return JSONResponse({"incident_id": incident_id, "action": name, "started": True},
                            status_code=202)  # fmt: skip

    async def silences(self, request: Request, _: Token) -> Response:
        from opsbook.alerts.silences import Silences
        from opsbook.output.alerts import silence_json

        everything = request.query_params.get("all", "") in ("1", "true")
        now = self.d.clock()
        found = await self.d.in_store(
            lambda: Silences(self.d.store.engine).list(now=now, include_ended=everything)
        )
        return JSONResponse({"silences": [silence_json(s) for s in found]})

    async def silence(self, request: Request, who: Token) -> Response:
        from opsbook.alerts.silences import Silences
        from opsbook.output.alerts import silence_json
        from opsbook.units import parse_duration

        body = await _body(request)
        matcher, why = _field(body, "matcher", "a check"), _field(body, "why", "why")
        now = self.d.clock()
        if isinstance(body.get("until"), str):
            until = _time(body["until"], "until")
        elif isinstance(body.get("for"), str):
            try:
                until = now + timedelta(seconds=parse_duration(body["for"]))
            except ValueError as exc:
                raise UsageError(f"for: {exc}") from None
        else:
            raise UsageError('expected "for": "2h" or "until": "2026-12-05T18:00:00Z"')
        made = await self.d.in_store(lambda: Silences(self.d.store.engine).add(
            matcher, ends_at=until, why=why, actor=who.name, now=now))  # fmt: skip
        return JSONResponse(silence_json(made), status_code=201)

    async def expire(self, request: Request, who: Token) -> Response:
        from opsbook.alerts.silences import Silences
        from opsbook.output.alerts import silence_json

        silence_id = _int(request.path_params["id"])
        now = self.d.clock()
        done = await self.d.in_store(lambda: Silences(self.d.store.engine).expire(
            silence_id, actor=who.name, now=now))  # fmt: skip
        return JSONResponse(silence_json(done))

    async def oncall(self, _: Request, __: Token) -> Response:
        from opsbook.web.board import oncall_now

        now = self.d.clock()
        return JSONResponse({"oncall": await self.d.in_store(lambda: oncall_now(self.d, now))})

    async def overrides(self, _: Request, __: Token) -> Response:
        from opsbook.output.oncall import override_json
        from opsbook.paging.overrides import Overrides

        now = self.d.clock()
        found = await self.d.in_store(lambda: Overrides(self.d.store.engine).active(since=now))
        return JSONResponse({"overrides": [override_json(o) for o in found]})

    async def override(self, request: Request, who: Token) -> Response:
        from opsbook.output.oncall import override_json
        from opsbook.paging.overrides import Overrides, check_target

        body = await _body(request)
        schedule, person = _field(body, "schedule", "primary"), _field(body, "person", "bob")
        layer = body.get("layer") if isinstance(body.get("layer"), str) else None
        start = _time(_field(body, "from", "2026-12-05T18:00:00Z"), "from")
        end = _time(_field(body, "until", "2026-12-06T09:00:00Z"), "until")
        check_target(self.d.config.paging, schedule, layer, person)
        why, now = str(body.get("why", "")), self.d.clock()
        made = await self.d.in_store(lambda: Overrides(self.d.store.engine).add(
            schedule, layer, person, start, end, why=why, actor=who.name, now=now))  # fmt: skip
        return JSONResponse(override_json(made), status_code=201)

    async def remove_override(self, request: Request, who: Token) -> Response:
        from opsbook.paging.overrides import Overrides

        override_id, now = _int(request.path_params["id"]), self.d.clock()
        await self.d.in_store(lambda: Overrides(self.d.store.engine).remove(
            override_id, actor=who.name, now=now))  # fmt: skip
        return JSONResponse({"removed": override_id})

    async def history(self, request: Request, _: Token) -> Response:
        from opsbook.alerts import series
        from opsbook.alerts.history import read_history
        from opsbook.output.history import history_json
        from opsbook.timefmt import parse_since

        name = request.path_params["name"]
        if (name.rpartition("@")[0] or name) not in self.d.config.checks:
            raise UsageError(f"no check named {name!r}")
        since = parse_since(request.query_params.get("since", "24h"), self.d.clock())
        engine = self.d.store.engine
        found, measured = await self.d.in_store(
            lambda: (read_history(engine, name, since), series.summaries(engine, name, since))
        )
        return JSONResponse(history_json(found, measured))

    async def backups(self, _: Request, __: Token) -> Response:
        from opsbook.backups.catalog import catalog
        from opsbook.backups.records import verifications
        from opsbook.output.backups import list_json

        backups = self.d.config.backups
        if backups is None:
            return JSONResponse({"backups": []})
        entries = await asyncio.to_thread(catalog, backups)
        verified = await self.d.in_store(lambda: verifications(self.d.store.engine))
        return JSONResponse({"backups": list_json(entries, verified)})

    async def actions_log(self, request: Request, _: Token) -> Response:
        from opsbook.output.playbook import run_json
        from opsbook.playbook import records

        limit = min(_int(request.query_params.get("limit", "30")), 500)
        name = request.query_params.get("action")
        found = await self.d.in_store(
            lambda: records.runs(self.d.store.engine, action=name, limit=limit)
        )
        return JSONResponse({"runs": [run_json(r) for r in found]})


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise UsageError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise UsageError("the body is a JSON object")
    return body


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{text!r}: expected a number") from None


def more_routes(d: Daemon, guarded: Any) -> list[BaseRoute]:
    api, v1, act = MoreApi(d), "/api/v1", Role.RESPONDER
    return [
        Route(f"{v1}/incidents/{{id}}/timeline", guarded(d, api.timeline), methods=["GET"]),
        *(Route(f"{v1}/incidents/{{id}}/{verb}", guarded(d, api.act, act), methods=["POST"])
          for verb in VERBS),
        Route(f"{v1}/incidents/{{id}}/actions/{{action}}", guarded(d, api.run_action),
              methods=["POST"]),  # the action's own roles decide
        Route(f"{v1}/silences", guarded(d, api.silences), methods=["GET"]),
        Route(f"{v1}/silences", guarded(d, api.silence, act), methods=["POST"]),
        Route(f"{v1}/silences/{{id}}", guarded(d, api.expire, act), methods=["DELETE"]),
        Route(f"{v1}/oncall", guarded(d, api.oncall), methods=["GET"]),
        Route(f"{v1}/oncall/overrides", guarded(d, api.overrides), methods=["GET"]),
        Route(f"{v1}/oncall/overrides", guarded(d, api.override, act), methods=["POST"]),
        Route(f"{v1}/oncall/overrides/{{id}}", guarded(d, api.remove_override, act),
              methods=["DELETE"]),
        Route(f"{v1}/checks/{{name}}/history", guarded(d, api.history), methods=["GET"]),
        Route(f"{v1}/backups", guarded(d, api.backups), methods=["GET"]),
        Route(f"{v1}/actions/log", guarded(d, api.actions_log), methods=["GET"]),
    ]  # fmt: skip
