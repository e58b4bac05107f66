"""``/checks/<name>``: one check's last result in full, its value and status over 24 h,
7 d or 90 d (raw results, then the 5-minute rollups), and its outages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts.sessions import Session
from opsbook.status import Status
from opsbook.web.auth import page_of
from opsbook.web.render import message, page

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

SPANS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "90d": timedelta(days=90)}
STEPS = 96  # points on the chart, whatever the span


def status_strip(worst: tuple[int | None, ...]) -> str:
    bars = [
        f'<rect class="s{w}" x="{i * 5}" y="0" width="4" height="16"><title>'
        f"{Status(w).name}</title></rect>"
        for i, w in enumerate(worst)
        if w is not None
    ]
    return (f'<svg class="strip spark" viewBox="0 0 {len(worst) * 5} 16" width="100%" '
            f'height="16" preserveAspectRatio="none" role="img" aria-label="status over time">'
            f'{"".join(bars)}</svg>')  # fmt: skip


class CheckPages:
    def __init__(self, d: Daemon) -> None:
        self.d = d

    def _read(self, name: str, span: timedelta, now: datetime) -> dict[str, Any]:
        from opsbook.alerts import series
        from opsbook.alerts.buckets import read_sparks
        from opsbook.alerts.history import read_history
        from opsbook.output.svg import line_chart

        engine = self.d.store.engine
        since = now - span
        step = span.total_seconds() / STEPS
        points = series.series(engine, name, series.MAIN, since, now, step)
        chart = ""
        if points:
            xs = [p.at for p in points]
            chart = line_chart(xs, {"mean": [p.mean for p in points],
                                    "max": [p.maximum for p in points]},
                               lambda v: f"{v:.3g}")  # fmt: skip
        strip = read_sparks(engine, now, size=max(int(step), 60), count=STEPS, checks=[name])
        history = read_history(engine, name, since)
        outages = [
            {"status": p.status.name, "from": p.start.isoformat(), "until": p.end.isoformat(),
             "results": p.results, "message": p.message}
            for p in history.periods if p.status is not Status.OK
        ]  # fmt: skip
        return {
            "chart": chart,
            "strip": status_strip(strip[name].worst) if name in strip else "",
            "uptime": history.uptime,
            "counts": {s.name: history.counts[s] for s in Status},
            "outages": outages[-50:][::-1],
            "measured": [{"name": m.name, "mean": m.mean, "min": m.minimum, "max": m.maximum,
                          "samples": m.samples} for m in series.summaries(engine, name, since)],
        }  # fmt: skip

    async def show(self, request: Request, session: Session) -> Response:
        from opsbook.output.checks import result_dict

        name = request.path_params["name"]
        check = self.d.config.checks.get(name.rpartition("@")[0] or name)
        if check is None:
            return message(request, "No such check", f"no check named {name!r}", 404, session)
        span_name = request.query_params.get("span", "24h")
        if span_name not in SPANS:
            return message(request, "Bad span", "span is 24h, 7d or 90d", 400, session)
        context = await self.d.in_store(lambda: self._read(name, SPANS[span_name], self.d.clock()))
        latest = self.d.state.latest.get(name)
        context.update(
            name=name, kind=check.kind.value, description=check.description or "",
            interval=float(check.interval), span=span_name, spans=list(SPANS),
            last=result_dict(latest) if latest is not None else None,
        )  # fmt: skip
        return page(request, "check.html", context, session=session)


def check_routes(d: Daemon) -> list[BaseRoute]:
    return [Route("/checks/{name}", page_of(d, CheckPages(d).show), methods=["GET"])]
