"""The leader's housekeeping round: counts for /metrics, the hourly roll-up of old results and
sent notifications, trend rules, instances gone, and alerts about opsbook itself."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from opsbook.alerts.retention import roll_up
from opsbook.errors import OpsbookError
from opsbook.incidents.records import open_counts
from opsbook.paging.outbox import purge
from opsbook.store.tx import begin

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

log = logging.getLogger("opsbook")
RETENTION_EVERY = 3600.0
PAGING_QUIET = 900.0  # seconds without a lost page before the paging alert resolves


async def housekeep(d: Daemon) -> bool:
    did = False
    try:
        d.state.open_incidents_by_severity = await d.in_store(lambda: open_counts(d.engine))
        if time.monotonic() - d.last_retention > RETENTION_EVERY:
            d.last_retention = time.monotonic()
            keep = d.config.retention
            folded = await d.in_store(lambda: roll_up(d.engine, d.clock(), keep.raw, keep.rollups))
            purged = await d.in_store(lambda: _purge_outbox(d, keep.raw))
            if folded or purged:
                did = True
                log.info("retention: %d old results folded into 5-minute rollups, %d sent "
                         "notifications removed", folded, purged)  # fmt: skip
        did = await d.trends.step() or did
        did = await d.remedies.step() or did
        did = await d.leadership.watch_members() or did
    except OpsbookError as exc:
        log.error("housekeeping: %s", exc)  # noqa: TRY400 - one line, no traceback
    for name in d.supervisor.recovered():
        did = True
        await d.self_alert(f"task:{name}", "resolved", f"opsbook serve's {name} task is running")
    if d.state.paging_quiet(PAGING_QUIET):
        d.state.paging_problem = ""
        await d.self_alert("paging", "resolved", "pages are reaching people again")
    d.state.task_problems = d.supervisor.problems()
    return did


def _purge_outbox(d: Daemon, keep: float) -> int:
    with begin(d.engine) as conn:
        return purge(conn, d.clock() - timedelta(seconds=keep))
