"""job: did this calendar job's last run go well, and has none come due without running?
Read from the store, where every run is recorded (docs/jobs.md).

The newest finished run's status is the check's (a timeout is CRITICAL); a scheduled time
that passed, plus the job's timeout and grace, without a run started since is CRITICAL
(overdue: the daemon was down and catch-up is off, or the run could not start).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from opsbook.config.jobs import JobCheck
from opsbook.results import Phase, Reading

if TYPE_CHECKING:
    from sqlalchemy import Engine


def describe(check: JobCheck) -> str:
    return f"job {check.job}"


async def run(check: JobCheck, phase: Phase) -> Reading:
    phase.at("for the store")
    return await asyncio.to_thread(_read, check)


def _read(check: JobCheck) -> Reading:
    from opsbook.checks.stored import from_store
    from opsbook.jobs import records
    from opsbook.jobs.calendar import assess
    from opsbook.timefmt import calendar_clock

    def read(engine: Engine) -> tuple[records.JobState | None, list[records.Run]]:
        return records.states(engine).get(check.job), records.runs(engine, check.job, limit=10)

    state, runs = from_store(check.store, read)
    now = calendar_clock()()
    return assess(check.job, check.schedule, check.zone, check.late_after, state, runs, now)
