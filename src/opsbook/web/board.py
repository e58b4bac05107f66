"""The board (``/``): every check with its day, what is alerting, the open incidents and
their clocks, who is on call, the backups, silences and maintenance in force.

Read in one go in the store thread (the checks' latest results are copied from the daemon's
memory on the loop first), from the same functions the CLI uses.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from opsbook.web.sparklines import SparkCache

FRESH = 1.0  # seconds
ONCALL_FOR = 30.0

if TYPE_CHECKING:
    from opsbook.alerts.model import Alert
    from opsbook.daemon.main import Daemon
    from opsbook.results import Result


@dataclass
class BoardReader:
    d: Daemon
    sparks: SparkCache = field(default_factory=SparkCache)
    # the rendered live part, shared by every viewer for FRESH seconds: a hundred open
    # boards cost one read a second, not a hundred (nothing in it depends on who looks)
    cached: tuple[float, str] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refreshing: asyncio.Task[None] | None = None
    packed: bytes = b""
    rows: dict[tuple[Any, ...], str] = field(default_factory=dict)
    oncall: tuple[float, tuple[int, ...], list[dict[str, Any]]] | None = None

    async def read(self) -> dict[str, Any]:
        latest = list(self.d.state.latest.values())  # on the loop: the dict changes there
        return dict(await self.d.in_store(lambda: self._read(latest)))

    async def live_html(self) -> str:
        """The newest drawing; a stale one is served while a fresh one is drawn, so no
        viewer waits for the drawing (only the very first one does)."""
        if self.cached is None:
            async with self.lock:
                if self.cached is None:
                    await self._draw()
        elif time.monotonic() - self.cached[0] >= FRESH and not self.lock.locked():
            self.refreshing = asyncio.get_running_loop().create_task(self._refresh())
        assert self.cached is not None
        return self.cached[1]

    async def _refresh(self) -> None:
        async with self.lock:
            if self.cached is None or time.monotonic() - self.cached[0] >= FRESH:
                await self._draw()

    async def _draw(self) -> None:
        from opsbook.web.render import environment

        context = await self.read()
        template = environment().get_template("board_live.html")

        def draw() -> tuple[str, bytes]:  # off the loop, then compressed
            html = template.render(check_rows=self._rows(context["checks"]), **context)
            return html, gzip.compress(html.encode(), compresslevel=6)

        html, packed = await asyncio.to_thread(draw)
        self.cached = (time.monotonic(), html)
        self.packed = packed

    def _oncall(self, now: datetime) -> list[dict[str, Any]]:
        """Who is on call changes at a handoff or an override, not every second: read again
        after ONCALL_FOR, or at once when the overrides changed."""
        from opsbook.paging.overrides import Overrides

        marker = tuple(o.id for o in Overrides(self.d.store.engine).active(since=now))
        if (self.oncall is None or self.oncall[1] != marker
                or time.monotonic() - self.oncall[0] >= ONCALL_FOR):  # fmt: skip
            self.oncall = (time.monotonic(), marker, oncall_now(self.d, now))
        return self.oncall[2]

    def _rows(self, checks: list[dict[str, Any]]) -> Markup:
        """Each check's row, drawn again only when its result or its sparkline changed: a
        second's redraw of a thousand checks draws the few that reported."""
        from opsbook.web.render import environment

        row = environment().get_template("board_row.html")
        drawn: dict[tuple[Any, ...], str] = {}
        for c in checks:
            key = (c["name"], c["at"], c["status"], c["value"], c["message"], c["spark"],
                   c["uptime"])  # fmt: skip
            drawn[key] = self.rows.get(key) or row.render(c=c)
        self.rows = drawn
        return Markup("".join(drawn.values()))  # noqa: S704  (each row autoescaped)

    async def live_gzip(self) -> bytes:
        """The live part, compressed once per drawing: what every open board fetches."""
        await self.live_html()
        return self.packed

    def _read(self, latest: list[Result]) -> dict[str, Any]:
        d, now = self.d, self.d.clock()
        engine = d.store.engine
        sparks, drawn = self.sparks.get(engine, now)
        checks = []
        for r in sorted(latest, key=lambda r: (-r.status.severity, r.name)):
            spark = sparks.get(r.name)
            checks.append({
                "name": r.name, "status": r.status.name, "value": r.value,
                "unit": r.unit.value if r.value is not None else "", "message": r.message,
                "at": r.started_at.isoformat(), "age": (now - r.started_at).total_seconds(),
                "spark": drawn.get(r.name, ""), "uptime": spark.uptime if spark else None,
            })  # fmt: skip
        return {
            "now": now.isoformat(),
            "checks": checks,
            "counts": {
                s: sum(c["status"] == s for c in checks)
                for s in ("CRITICAL", "WARNING", "UNKNOWN", "OK")
            },
            "alerts": _alerts(d),
            "incidents": _incidents(d, now),
            "oncall": self._oncall(now),
            "backups": _backups(d, now),
            "silences": _silences(d, now),
            "windows": _windows(d, now),
        }


def _alerts(d: Daemon) -> list[dict[str, Any]]:
    from opsbook.alerts.store import alerts_and_events

    found, _ = alerts_and_events(d.store.engine)
    return alert_rows(found)


def alert_rows(found: list[Alert]) -> list[dict[str, Any]]:
    """Pending and firing alerts, as the board and the alerts page show them."""
    from opsbook.alerts.model import AlertState

    return [
        {"name": a.name, "state": a.state.value, "level": a.level.name,
         "severity": f"SEV-{a.severity}" if a.severity else "", "summary": a.summary,
         "since": a.firing_since.isoformat() if a.firing_since else None,
         "incident_id": a.incident_id}
        for a in found if a.state is not AlertState.INACTIVE
    ]  # fmt: skip


def _incidents(d: Daemon, now: datetime) -> list[dict[str, Any]]:
    from opsbook.output.incidents import incident_dict

    policy = d.incidents.policy
    return [incident_dict(i, policy, now) for i in d.incidents.list(open_only=True)]


def oncall_now(d: Daemon, now: datetime) -> list[dict[str, Any]]:
    """Each schedule's layers: who now, until when, and who next."""
    from opsbook.paging.overrides import Overrides
    from opsbook.paging.schedule import layers_of, shifts

    schedules = d.config.paging.schedules
    if not schedules:
        return []
    horizon = now + timedelta(days=16)  # the next shift of a weekly or two-weekly rota
    overrides = Overrides(d.store.engine).active(since=now, until=horizon)
    rows = []
    for name, schedule in schedules.items():
        for layer in layers_of(name, schedule, d.config.timezone):
            ahead = [s for s in shifts(layer, now, horizon, overrides) if s.end > now]
            current = ahead[0] if ahead and ahead[0].start <= now else None
            upcoming = next((s for s in ahead if s.start > now and s.person), None)
            rows.append({
                "schedule": name, "layer": layer.name if layer.name != name else "",
                "person": current.person if current else None,
                "until": current.end.isoformat() if current else None,
                "override": current.override if current else None,
                "next": upcoming.person if upcoming else None,
                "next_from": upcoming.start.isoformat() if upcoming else None,
            })  # fmt: skip
    return rows


def _backups(d: Daemon, now: datetime) -> list[dict[str, Any]]:
    from opsbook.backups.records import EventKind, events

    if d.config.backups is None:
        return []
    out = []
    for name, source in d.config.backups.sources.items():
        runs = events(d.store.engine, source=name, kind=EventKind.BACKUP, limit=20)
        checks = events(d.store.engine, source=name, kind=EventKind.VERIFY, limit=20)
        good = next((e for e in runs if e.ok), None)
        verified = next((e for e in checks if e.ok), None)
        age = (now - good.finished_at).total_seconds() if good else None
        out.append({
            "source": name, "last_good": good.finished_at.isoformat() if good else None,
            "last_good_id": good.backup_id if good else None, "age": age,
            "max_age": float(source.max_age),
            "late": age is None or age > float(source.max_age),
            "last_failed": bool(runs) and not runs[0].ok,
            "verified": verified.finished_at.isoformat() if verified else None,
        })  # fmt: skip
    return out


def _silences(d: Daemon, now: datetime) -> list[dict[str, Any]]:
    from opsbook.alerts.silences import Silences
    from opsbook.output.alerts import silence_json

    return [silence_json(s) for s in Silences(d.store.engine).list(now=now)]


def _windows(d: Daemon, now: datetime) -> list[dict[str, Any]]:
    from opsbook.alerts.windows import spans

    out = []
    for w in d.config.maintenance:
        for start, end in spans(w, now, d.config.timezone):
            if start <= now < end:
                out.append({"name": w.name, "checks": list(w.checks) or ["every check"],
                            "until": end.isoformat()})  # fmt: skip
                break
    return out
