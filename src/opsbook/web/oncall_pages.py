"""``/oncall``: the rota as a four-week calendar (days in the viewer's time zone, drawn by
the page's script from the UTC shifts), holes in coverage marked, overrides added and
removed, and the escalation ladder per severity: when each level is paged if nobody acks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts.sessions import Session
from opsbook.config.actions import Role
from opsbook.errors import OpsbookError, UsageError
from opsbook.timefmt import parse_moment
from opsbook.web.auth import may, page_of
from opsbook.web.render import message, page

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

WEEKS = 4


class OncallPages:
    def __init__(self, d: Daemon) -> None:
        self.d = d

    def _read(self, now: datetime) -> dict[str, Any]:
        from opsbook.output.oncall import override_json, shift_json
        from opsbook.paging.coverage import check, ladder, reached_after
        from opsbook.paging.overrides import Overrides
        from opsbook.paging.schedule import layers_of, shifts

        d = self.d
        paging, tz = d.config.paging, d.config.timezone
        start = (now - timedelta(days=now.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0)  # fmt: skip
        end = start + timedelta(weeks=WEEKS)
        overrides = Overrides(d.store.engine).active(since=start, until=end)
        rows: list[dict[str, Any]] = []
        for name, schedule in paging.schedules.items():
            for layer in layers_of(name, schedule, tz):
                rows.extend(shift_json(s) for s in shifts(layer, start, end, overrides))
        coverage = check(paging, tz, now, WEEKS * 7, overrides)
        levels = ladder(paging)
        policy = d.incidents.policy
        ladders = [
            {"severity": f"SEV-{lv.level}",
             "at": [round(t) for t in reached_after(paging, policy, lv.level)]}
            for lv in policy.levels if lv.level <= 3
        ]  # fmt: skip
        return {
            "schedules": list(paging.schedules),
            "layers": {n: list(s.layers) for n, s in paging.schedules.items()},
            "people": sorted(paging.people),
            "shifts": rows,
            "start": start.isoformat(),
            "weeks": WEEKS,
            "holes": [{"level": h.level, "name": h.name, "from": h.start.isoformat(),
                       "until": h.end.isoformat(), "why": h.why} for h in coverage.holes],
            "overrides": [override_json(o) for o in Overrides(d.store.engine).active(since=now)],
            "levels": [{"name": lv.name or f"level {i}", "who": lv.who}
                       for i, lv in enumerate(levels, start=1)],
            "ladders": ladders,
        }  # fmt: skip

    async def show(self, request: Request, session: Session) -> Response:
        context = await self.d.in_store(lambda: self._read(self.d.clock()))
        context["can_act"] = may(session, Role.RESPONDER)
        context["now"] = self.d.clock().isoformat()
        return page(request, "oncall.html", context, session=session)

    async def add(self, request: Request, session: Session) -> Response:
        from opsbook.paging.overrides import Overrides, check_target

        form = await request.form()
        schedule, person = str(form.get("schedule", "")), str(form.get("person", ""))
        layer = str(form.get("layer", "")) or None
        why = str(form.get("why", "")).strip()
        now = self.d.clock()

        def add() -> None:
            start, end = self._time(form, "from"), self._time(form, "to")
            check_target(self.d.config.paging, schedule, layer, person)
            Overrides(self.d.store.engine).add(
                schedule, layer, person, start, end, why=why, actor=session.user, now=now
            )

        try:
            await self.d.in_store(add)
        except (UsageError, ValueError) as exc:
            return message(request, "Override not added", str(exc), 400, session)
        except OpsbookError as exc:
            return message(request, "Override not added", str(exc), 503, session)
        return RedirectResponse("/oncall", status_code=303)

    def _time(self, form: Any, name: str) -> datetime:
        """The page's script sends the viewer's wall-clock time as UTC (``from_utc``);
        without it, a time without an offset is read in opsbook.yaml's time zone."""
        given = str(form.get(f"{name}_utc", "") or form.get(name, ""))
        return parse_moment(given, self.d.config.timezone, name)

    async def remove(self, request: Request, session: Session) -> Response:
        from opsbook.paging.overrides import Overrides

        try:
            override_id = int(request.path_params["id"])
            now = self.d.clock()
            await self.d.in_store(lambda: Overrides(self.d.store.engine).remove(
                override_id, actor=session.user, now=now))  # fmt: skip
        except (UsageError, ValueError) as exc:
            return message(request, "Override not removed", str(exc), 400, session)
        return RedirectResponse("/oncall", status_code=303)


def oncall_routes(d: Daemon) -> list[BaseRoute]:
    pages = OncallPages(d)
    return [
        Route("/oncall", page_of(d, pages.show), methods=["GET"]),
        Route("/oncall/overrides", page_of(d, pages.add, Role.RESPONDER), methods=["POST"]),
        Route(
            "/oncall/overrides/{id}/remove",
            page_of(d, pages.remove, Role.RESPONDER),
            methods=["POST"],
        ),
    ]
