"""Guarded automatic remediation (an action's ``auto:``), on the leader: when a named check's
alert has fired for ``for``, opsbook runs the action itself, on the incident's timeline and
in the later pages, then says what the check read before and after.

Guards: off unless written; never for a SEV-1 incident unless ``sev1: true``; at most one run
per ``once_per`` for the action, counted from the actions log (so a restarted daemon or
another instance does not run it again) and claimed with a job lock (so two instances do not
both start it in the same moment).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from opsbook import aio
from opsbook.alerts.model import AlertState, Source
from opsbook.backups import records as locks
from opsbook.config.actions import ActionConfig
from opsbook.errors import OpsbookError
from opsbook.incidents.model import EntryKind
from opsbook.incidents.records import note_incident
from opsbook.playbook import records
from opsbook.playbook.act import run_action
from opsbook.playbook.records import Trigger
from opsbook.results import Result

if TYPE_CHECKING:
    from opsbook.alerts.model import Alert
    from opsbook.daemon.main import Daemon

log = logging.getLogger("opsbook")
ACTOR = "opsbook"
AFTER_WAIT_MAX = 300.0  # seconds to wait for the check's next result after a remedy


class Remedies:
    def __init__(self, d: Daemon) -> None:
        self.d = d
        self.running: dict[str, asyncio.Task[None]] = {}

    async def step(self) -> bool:
        d = self.d
        automatic = {n: a for n, a in d.config.actions.items() if a.auto is not None}
        if not automatic or d.scheduler is None:
            return False
        now = d.clock()
        did = False
        for name, action in automatic.items():
            if name in self.running:
                continue
            alert = self._trigger(action, now)
            if alert is None or alert.incident_id is None:
                continue
            if await self._guarded(name, action, alert.incident_id, now):
                did = True
                task = asyncio.create_task(self._remedy(name, action, alert), name=f"auto:{name}")
                self.running[name] = task
                task.add_done_callback(self._forget(name))
        return did

    def _forget(self, name: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self.running.pop(name, None)

        return forget

    def _trigger(self, action: ActionConfig, now: datetime) -> Alert | None:
        assert action.auto is not None
        wait = timedelta(seconds=action.auto.for_)
        for alert in self.d.processor.alerts.values():
            check = alert.name.split("@", 1)[0]
            if (alert.source is Source.CHECK and check in action.auto.when
                    and alert.state is AlertState.FIRING and alert.firing_since is not None
                    and alert.firing_since <= now - wait):  # fmt: skip
                return alert
        return None

    async def _guarded(self, name: str, action: ActionConfig, incident_id: str,
                       now: datetime) -> bool:  # fmt: skip
        d = self.d
        assert action.auto is not None
        period = timedelta(seconds=action.auto.once_per)
        incident = await d.in_store(lambda: d.incidents.get(incident_id))
        if not incident.is_open or (incident.severity == 1 and not action.auto.sev1):
            return False
        last = await d.in_store(lambda: records.runs(d.store.engine, action=name,
                                                     trigger=Trigger.AUTO, limit=1))  # fmt: skip
        if last and last[0].started_at > now - period:
            return False
        return await d.in_store(lambda: locks.claim(d.store.engine, f"auto:{name}", period))

    async def _remedy(self, name: str, action: ActionConfig, alert: Alert) -> None:
        d = self.d
        incident_id = alert.incident_id
        check = alert.name.split("@", 1)[0]
        before = d.state.latest.get(alert.name) or d.state.latest.get(check)
        log.warning("auto: %s fired for %s; running %s", check, incident_id, name)
        try:
            run = await aio.in_thread(lambda: run_action(
                d.store.engine, name, action, incident_id=incident_id, actor=ACTOR,
                trigger=Trigger.AUTO, clock=d.clock, redact=d.loaded.redactor))  # fmt: skip
        except OpsbookError as exc:
            log.error("auto: %s could not run: %s", name, exc)  # noqa: TRY400
            return
        status = run.status.name if run.status is not None else "?"
        after = await self._next_result(alert.name, check, run.finished_at or d.clock())
        said = (f"{ACTOR} ran {name} at {run.started_at:%H:%M:%S} UTC ({status}); {check}: "
                f"{_reading(before)} before, {_reading(after)} after")  # fmt: skip
        data = {"action": name, "run": run.id, "check": check,
                "before": _value(before), "after": _value(after)}  # fmt: skip
        assert incident_id is not None
        try:
            await d.in_store(lambda: note_incident(d.store.engine, incident_id, d.clock(), ACTOR,
                                                   EntryKind.ACTION_RUN, said, data))  # fmt: skip
        except OpsbookError as exc:
            log.error("auto: %s: %s", name, exc)  # noqa: TRY400
        log.warning("auto: %s", said)

    async def _next_result(self, name: str, check: str, since: datetime) -> Result | None:
        """The check's first result after the remedy (woken at once), or None."""
        d = self.d
        if d.scheduler is not None:
            d.scheduler.wake(check)
        deadline = time.monotonic() + AFTER_WAIT_MAX
        while time.monotonic() < deadline:
            latest = d.state.latest.get(name) or d.state.latest.get(check)
            if latest is not None and latest.started_at >= since:
                return latest
            await asyncio.sleep(0.5)
        return None


def _reading(result: Result | None) -> str:
    if result is None:
        return "no result"
    value = f" ({result.value:g}{result.unit.value})" if result.value is not None else ""
    return f"{result.status.name}{value}"


def _value(result: Result | None) -> float | None:
    return result.value if result is not None else None
