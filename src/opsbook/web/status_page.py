"""``/status``: the public status page (``server.status_page: true``), read-only, no login.

It shows only what was marked for it: the checks with ``public: true``, by their
``public_name`` and ``group``, as operational / degraded / outage, and 90 days of daily
uptime. Never a host name, a value, a check's message or an incident's internal title: an
open incident is said as its phase and start.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opsbook.alerts.buckets import read_sparks
from opsbook.alerts.processor import ACTOR
from opsbook.status import Status
from opsbook.web.render import page

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

DAYS = 90
KEEP_FOR = 60.0  # a public page is read by many: one read a minute serves them all
WORDS = {Status.OK: "operational", Status.WARNING: "degraded",
         Status.CRITICAL: "outage", Status.UNKNOWN: "unknown"}  # fmt: skip


class StatusPage:
    def __init__(self, d: Daemon) -> None:
        self.d = d
        self.cached: tuple[float, dict[str, Any]] | None = None

    def _public(self) -> dict[str, tuple[str, str]]:
        """check name -> (group, public name)"""
        return {
            name: (check.group or "Services", check.public_name or name)
            for name, check in self.d.config.checks.items()
            if check.public
        }

    def _read(self, latest: dict[str, Status], now: datetime) -> dict[str, Any]:
        public = self._public()
        days = read_sparks(self.d.store.engine, now, size=86400, count=DAYS,
                           checks=list(public))  # fmt: skip
        groups: dict[str, list[dict[str, Any]]] = {}
        for name, (group, shown) in sorted(public.items(), key=lambda kv: kv[1]):
            spark = days.get(name)
            status = latest.get(name)
            groups.setdefault(group, []).append({
                "name": shown,
                "state": WORDS[status] if status is not None else "unknown",
                "uptime": spark.uptime if spark else None,
                "days": [WORDS[Status(w)] if w is not None else "none"
                         for w in (spark.worst if spark else [None] * DAYS)],
            })  # fmt: skip
        opened_by_public = self._public_incidents(public)
        incidents = [
            {"phase": i.phase.value, "since": i.opened_at.isoformat()}
            for i in self.d.incidents.list(open_only=True)
            # a public check's own incidents, and a SEV-1 a person opened (alerts' incidents
            # are opened by ACTOR: their titles and checks are internal)
            if i.id in opened_by_public or (i.severity == 1 and i.opened_by != ACTOR)
        ]  # fmt: skip
        worst = [c["state"] for cs in groups.values() for c in cs]
        overall = ("outage" if "outage" in worst else "degraded" if "degraded" in worst
                   else "operational")  # fmt: skip
        return {"groups": groups, "incidents": incidents, "overall": overall,
                "service": self.d.config.service or "Service", "now": now.isoformat()}  # fmt: skip

    def _public_incidents(self, public: dict[str, tuple[str, str]]) -> set[str]:
        """Incidents opened by a public check's alert."""
        from opsbook.alerts.store import alerts_and_events

        found, _ = alerts_and_events(self.d.store.engine)
        return {a.incident_id for a in found if a.incident_id and a.name in public}

    async def show(self, request: Request) -> Response:
        if not self.d.config.server.status_page:
            return Response("no status page here (server.status_page: true)", 404)
        fresh = self.cached is not None and time.monotonic() - self.cached[0] < KEEP_FOR
        if not fresh:
            latest = {r.name: r.status for r in list(self.d.state.latest.values())}
            context = await self.d.in_store(lambda: self._read(latest, self.d.clock()))
            self.cached = (time.monotonic(), context)
        assert self.cached is not None
        return page(request, "status.html", self.cached[1])


def status_routes(d: Daemon) -> list[BaseRoute]:
    return [Route("/status", StatusPage(d).show, methods=["GET"])]
