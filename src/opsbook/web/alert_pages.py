"""``/alerts``: pending and firing alerts, recent alert events, silences (add, expire) and
the maintenance windows configured, open ones first."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts.sessions import Session
from opsbook.config.actions import Role
from opsbook.errors import OpsbookError, UsageError
from opsbook.web.auth import may, page_of
from opsbook.web.render import message, page

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

EVENTS = 50


class AlertPages:
    def __init__(self, d: Daemon) -> None:
        self.d = d

    def _read(self) -> dict[str, Any]:
        from opsbook.alerts.silences import Silences
        from opsbook.alerts.store import alerts_and_events
        from opsbook.alerts.windows import spans
        from opsbook.output.alerts import silence_json
        from opsbook.web.board import alert_rows

        d, now = self.d, self.d.clock()
        found, events = alerts_and_events(d.store.engine, EVENTS)
        windows = []
        for w in d.config.maintenance:
            ahead = sorted(s for s in spans(w, now, d.config.timezone) if s[1] > now)
            current = next(((a, b) for a, b in ahead if a <= now), None)
            windows.append({"name": w.name, "checks": list(w.checks) or ["every check"],
                            "open": current is not None,
                            "until": current[1].isoformat() if current else None,
                            "next": ahead[0][0].isoformat() if ahead and not current else None,
                            "every": f"{w.every} at {w.at}" if w.every else "once"})  # fmt: skip
        windows.sort(key=lambda w: not w["open"])
        return {
            "alerts": alert_rows(found),
            "events": [{"at": e.at.isoformat(), "kind": e.kind, "summary": e.summary,
                        "incident_id": e.incident_id} for e in events],
            "silences": [silence_json(s) for s in Silences(d.store.engine).list(now=now)],
            "windows": windows,
            "checks": sorted(d.config.checks),
        }  # fmt: skip

    async def show(self, request: Request, session: Session) -> Response:
        context = await self.d.in_store(self._read)
        context["can_act"] = may(session, Role.RESPONDER)
        return page(request, "alerts.html", context, session=session)

    async def silence(self, request: Request, session: Session) -> Response:
        from opsbook.alerts.silences import Silences
        from opsbook.units import parse_duration

        form = await request.form()
        matcher, why = str(form.get("matcher", "")), str(form.get("why", ""))
        try:
            seconds = parse_duration(str(form.get("for", "")))
        except ValueError as exc:
            return message(request, "Silence not added", f"for: {exc}", 400, session)
        now = self.d.clock()
        try:
            await self.d.in_store(lambda: Silences(self.d.store.engine).add(
                matcher, ends_at=now + timedelta(seconds=seconds), why=why,
                actor=session.user, now=now))  # fmt: skip
        except UsageError as exc:
            return message(request, "Silence not added", str(exc), 400, session)
        except OpsbookError as exc:
            return message(request, "Silence not added", str(exc), 503, session)
        return RedirectResponse("/alerts", status_code=303)

    async def expire(self, request: Request, session: Session) -> Response:
        from opsbook.alerts.silences import Silences

        now = self.d.clock()
        try:
            silence_id = int(request.path_params["id"])
            await self.d.in_store(lambda: Silences(self.d.store.engine).expire(
                silence_id, actor=session.user, now=now))  # fmt: skip
        except (UsageError, ValueError) as exc:
            return message(request, "Silence not expired", str(exc), 400, session)
        return RedirectResponse("/alerts", status_code=303)


def alert_routes(d: Daemon) -> list[BaseRoute]:
    pages = AlertPages(d)
    return [
        Route("/alerts", page_of(d, pages.show), methods=["GET"]),
        Route("/alerts/silences", page_of(d, pages.silence, Role.RESPONDER), methods=["POST"]),
        Route(
            "/alerts/silences/{id}/expire",
            page_of(d, pages.expire, Role.RESPONDER),
            methods=["POST"],
        ),
    ]
