"""Incidents in the browser: the list, one incident (live), its acts, its report, the stats.

Every act calls the same Incidents method the CLI calls, under the signed-in user's name, so
the timeline says who did it and the CLI and the page never disagree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts.sessions import Session
from opsbook.config.actions import Role
from opsbook.errors import IncidentError, OpsbookError, UsageError
from opsbook.incidents.model import HUMAN_FIELDS, ActionKind, EntryKind, Phase
from opsbook.incidents.report import render_body
from opsbook.timefmt import parse_due, parse_since
from opsbook.web.auth import may, page_of
from opsbook.web.incident_view import doc_of, entry_group, read_incident, report_markdown
from opsbook.web.render import message, page

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from opsbook.daemon.main import Daemon

PAGE_SIZE = 50


class IncidentPages:
    def __init__(self, d: Daemon) -> None:
        self.d = d
        self.running: set[asyncio.Task[None]] = set()  # actions run from the page

    async def list(self, request: Request, session: Session) -> Response:
        from opsbook.output.incidents import incident_dict

        q = request.query_params
        now = self.d.clock()
        try:
            since = parse_since(q["since"], now) if q.get("since") else None
            severities = [int(s) for s in q.getlist("severity") if s]
            offset = max(int(q.get("offset", "0") or 0), 0)
        except (UsageError, ValueError) as exc:
            return message(request, "Bad filter", f"{exc}", 400, session)
        open_only = q.get("open") == "1"
        incidents = self.d.incidents

        def read() -> tuple[list[Any], int]:
            return incidents.page(open_only=open_only, severities=severities, since=since,
                                  text=q.get("q", ""), limit=PAGE_SIZE, offset=offset)  # fmt: skip

        found, total = await self.d.in_store(read)
        shown = [incident_dict(i, incidents.policy, now) for i in found]
        return page(request, "incidents.html", {
            "incidents": shown, "total": total, "offset": offset, "size": PAGE_SIZE,
            "filters": {"open": open_only, "severity": severities, "since": q.get("since", ""),
                        "q": q.get("q", "")},
            "levels": [lv.level for lv in incidents.policy.levels],
        }, session=session)  # fmt: skip

    async def show(self, request: Request, session: Session) -> Response:
        incident_id = request.path_params["id"]
        try:  # read once: the page and its report show the same moment
            record = await self.d.in_store(lambda: read_incident(self.d, incident_id))
        except IncidentError as exc:
            return message(request, "No such incident", str(exc), 404, session)
        doc = doc_of(self.d, record)
        for entry in doc["timeline"]:
            entry["group"] = entry_group(EntryKind(entry["kind"]))
        report = report_markdown(self.d, record)
        doc["timeline"].reverse()  # newest first
        return page(request, "incident.html", {
            "i": doc, "can_act": may(session, Role.RESPONDER),
            "actions": self._actions(doc["suggested_actions"], session),
            "phases": [p.value for p in Phase if p is not Phase.RESOLVED],
            "levels": [lv.level for lv in self.d.incidents.policy.levels],
            "people": sorted(self.d.config.paging.people),
            "fields": HUMAN_FIELDS, "kinds": [k.value for k in ActionKind],
            "report_html": Markup(render_body(report)),  # noqa: S704  (raw HTML escaped)
        }, session=session)  # fmt: skip

    def _actions(self, suggested: Sequence[str], session: Session) -> Sequence[dict[str, Any]]:
        """The configured actions, the incident's suggestions first, with what each runs
        and whether this user's role may run it."""
        from opsbook.playbook.act import describe

        redact = self.d.loaded.redactor
        return sorted(
            ({"name": name, "description": a.description or "", "runs": redact(describe(a)),
              "confirm": a.confirm, "suggested": name in suggested,
              "allowed": session.role in a.roles}
             for name, a in self.d.config.actions.items()),
            key=lambda a: (not a["suggested"], a["name"]),
        )  # fmt: skip

    async def run(self, request: Request, session: Session) -> Response:
        """Run a containment action from the incident (`opsbook incident act`): recorded on
        the timeline as the user's; it runs in the background and the page shows its end."""
        from opsbook.web.incident_view import start_action

        incident_id, name = request.path_params["id"], request.path_params["action"]
        action = self.d.config.actions.get(name)
        form = await request.form()
        if action is None:
            return message(request, "No such action", f"no action {name!r} under actions: in "
                           "opsbook.yaml", 404, session)  # fmt: skip
        if session.role not in action.roles:
            roles = ", ".join(r.value for r in action.roles)
            return message(request, "Not allowed", f"{session.user} is a {session.role.value}; "
                           f"action {name} may be run by: {roles}", 403, session)  # fmt: skip
        if action.confirm and form.get("confirmed") != "yes":
            return message(request, "Not run", f"tick the box to confirm running {name}", 400,
                           session)  # fmt: skip
        try:
            await self.d.in_store(lambda: self.d.incidents.get(incident_id))
        except IncidentError as exc:
            return message(request, "No such incident", str(exc), 404, session)
        start_action(self.d, self.running, name, action, incident_id, session.user)
        return RedirectResponse(f"/incidents/{incident_id}", status_code=303)

    async def act(self, request: Request, session: Session) -> Response:
        """One POST per button; the verb picks the Incidents method."""
        incident_id, verb = request.path_params["id"], request.path_params["verb"]
        form = await request.form()
        acts: dict[str, Callable[[FormData, str, str], Any]] = {
            "ack": self._ack, "note": self._note, "severity": self._severity,
            "phase": self._phase, "assign": self._assign, "resolve": self._resolve,
            "reopen": self._reopen, "action": self._action, "action-done": self._action_done,
            "edit": self._edit,
        }  # fmt: skip
        chosen = acts.get(verb)
        if chosen is None:
            return message(request, "Unknown act", f"no act {verb!r} on incidents", 404, session)
        try:
            await self.d.in_store(lambda: chosen(form, incident_id, session.user))
        except IncidentError as exc:
            status = 404 if str(exc).startswith("no ") else 409
            return message(request, "Not done", str(exc), status, session)
        except UsageError as exc:
            return message(request, "Not done", str(exc), 400, session)
        except OpsbookError as exc:
            return message(request, "Not done", str(exc), 503, session)
        if verb in ("ack", "resolve", "severity"):
            await self.d.page_now()  # the escalation follows now, not at the next round
        return RedirectResponse(f"/incidents/{incident_id}", status_code=303)

    # -- the acts, in the store thread

    def _ack(self, _: FormData, incident_id: str, who: str) -> None:
        self.d.incidents.acknowledge(incident_id, who)

    def _note(self, form: FormData, incident_id: str, who: str) -> None:
        self.d.incidents.note(incident_id, _text(form, "text", "a note"), who)

    def _severity(self, form: FormData, incident_id: str, who: str) -> None:
        try:
            level = int(str(form.get("level", "")))
        except ValueError:
            raise UsageError("pick a severity") from None
        why = _text(form, "why", "why the severity changes")
        self.d.incidents.change_severity(incident_id, level, why, who)

    def _phase(self, form: FormData, incident_id: str, who: str) -> None:
        try:
            phase = Phase(str(form.get("phase", "")))
        except ValueError:
            raise UsageError("pick a phase") from None
        self.d.incidents.set_phase(incident_id, phase, who)

    def _assign(self, form: FormData, incident_id: str, who: str) -> None:
        person = _text(form, "person", "who takes it")
        if person not in self.d.config.paging.people:
            raise UsageError(f"no person {person!r} under people: in opsbook.yaml")
        self.d.incidents.assign(incident_id, person, who)

    def _resolve(self, form: FormData, incident_id: str, who: str) -> None:
        self.d.incidents.resolve(incident_id, _text(form, "why", "how it was resolved"), who)

    def _reopen(self, form: FormData, incident_id: str, who: str) -> None:
        self.d.incidents.reopen(incident_id, who, str(form.get("why", "")).strip())

    def _action(self, form: FormData, incident_id: str, who: str) -> None:
        from opsbook.incidents.records import ActionItems

        due_text = str(form.get("due", "")).strip()
        due = parse_due(due_text, self.d.clock().date()) if due_text else None
        owner = str(form.get("owner", "")).strip() or None
        try:
            kind = ActionKind(str(form.get("kind", "fix")))
        except ValueError:
            raise UsageError("pick a kind of action item") from None
        ActionItems(self.d.store.engine, clock=self.d.clock).add(
            incident_id, _text(form, "text", "the action item"), who,
            owner=owner, due=due, kind=kind,
        )  # fmt: skip

    def _action_done(self, form: FormData, _: str, who: str) -> None:
        from opsbook.incidents.records import ActionItems

        try:
            item = int(str(form.get("item", "")))
        except ValueError:
            raise UsageError("which action item?") from None
        ActionItems(self.d.store.engine, clock=self.d.clock).done(item, who)

    def _edit(self, form: FormData, incident_id: str, who: str) -> None:
        changes = {f: str(form.get(f, "")) for f in HUMAN_FIELDS if f in form}
        self.d.incidents.edit(incident_id, changes, who)

    async def report(self, request: Request, session: Session) -> Response:
        from opsbook.incidents.report import render_html

        incident_id, fmt = request.path_params["id"], request.path_params["fmt"]
        if fmt not in ("md", "html"):
            return message(request, "Unknown format", "the report is .md or .html", 404, session)
        d = self.d
        try:
            text = report_markdown(d, await d.in_store(lambda: read_incident(d, incident_id)))
        except IncidentError as exc:
            return message(request, "No such incident", str(exc), 404, session)
        name = f"{incident_id}.{fmt}"
        if fmt == "html":
            text = render_html(text, f"Incident Report: {incident_id}")
        media = "text/html" if fmt == "html" else "text/markdown"
        return Response(text, media_type=f"{media}; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})  # fmt: skip

    async def stats(self, request: Request, session: Session) -> Response:
        from opsbook.incidents.clocks import stats
        from opsbook.incidents.records import read_timeline
        from opsbook.output.incidents import stats_dict

        now: datetime = self.d.clock()
        since_text = request.query_params.get("since", "90d")
        try:
            since = parse_since(since_text, now)
        except UsageError as exc:
            return message(request, "Bad filter", str(exc), 400, session)
        d = self.d

        def read() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            found = d.incidents.list(since=since)
            timelines = read_timeline(d.store.engine, [i.id for i in found])
            overall = stats_dict(stats(found, timelines, d.incidents.policy, now), since)
            weeks = []  # the same figures per week, oldest first: is it getting better?
            start = max(since, now - timedelta(weeks=12))
            while start < now:
                end = min(start + timedelta(weeks=1), now)
                mine = [i for i in found if start <= i.opened_at < end]
                rows = stats(mine, timelines, d.incidents.policy, now)
                weeks.append({"from": start.isoformat(), "count": len(mine),
                              **stats_dict(rows, start)})  # fmt: skip
                start = end
            return overall, weeks

        overall, weeks = await d.in_store(read)
        return page(request, "stats.html", {"stats": overall, "weeks": weeks,
                                            "since": since_text}, session=session)  # fmt: skip


def _text(form: FormData, name: str, what: str) -> str:
    value = str(form.get(name, "")).strip()
    if not value:
        raise UsageError(f"{what} is needed")
    return value


def incident_routes(d: Daemon) -> list[BaseRoute]:
    pages = IncidentPages(d)
    return [
        Route("/incidents", page_of(d, pages.list), methods=["GET"]),
        Route("/incidents/{id}", page_of(d, pages.show), methods=["GET"]),
        Route("/incidents/{id}/report.{fmt}", page_of(d, pages.report), methods=["GET"]),
        Route(
            "/incidents/{id}/run/{action}", page_of(d, pages.run, Role.VIEWER), methods=["POST"]
        ),  # the action's own roles decide
        Route("/incidents/{id}/{verb}", page_of(d, pages.act, Role.RESPONDER), methods=["POST"]),
        Route("/stats", page_of(d, pages.stats), methods=["GET"]),
    ]
