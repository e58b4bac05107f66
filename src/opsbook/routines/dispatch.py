"""A built-in action, by the job that names it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsbook.config.jobs import (
    CapacityJob,
    DailyReportJob,
    DbMaintenanceJob,
    JobBase,
    LogRetentionJob,
    MonthlyReportJob,
    RestoreDrillJob,
    SecurityAuditJob,
    SecurityUpdatesJob,
    WeeklyReportJob,
)
from opsbook.errors import UsageError
from opsbook.routines.model import ActionReport
from opsbook.routines.review import Period

if TYPE_CHECKING:
    from opsbook.config.loader import LoadedConfig


def perform(name: str, job: JobBase, loaded: LoadedConfig) -> ActionReport:
    if isinstance(job, LogRetentionJob):
        from opsbook.routines import logfiles

        return logfiles.perform(job)
    if isinstance(job, SecurityAuditJob):  # before its parent, SecurityUpdatesJob
        from opsbook.routines import audit

        return audit.perform(job, loaded)
    if isinstance(job, SecurityUpdatesJob):
        from opsbook.routines import updates

        return updates.perform(job)
    if isinstance(job, DbMaintenanceJob):
        from opsbook.routines import dbweekly

        return dbweekly.perform(job, loaded.config, lambda: last_figures(loaded, name))
    if isinstance(job, WeeklyReportJob | MonthlyReportJob):
        weekly = isinstance(job, WeeklyReportJob)
        return review_report(loaded, Period.WEEKLY if weekly else Period.MONTHLY)[0]
    if isinstance(job, DailyReportJob):
        return daily_report(loaded)
    if isinstance(job, CapacityJob):
        return capacity_report(job, loaded)[0]
    if isinstance(job, RestoreDrillJob):
        from opsbook.routines import drill

        assert loaded.config.backups is not None  # validated: restore-drill needs backups:
        return drill.perform(job, loaded.config.backups, loaded.config.store)
    raise UsageError(
        f"job {name} runs a command ({job.action_kind.value}), not a built-in "
        "action; run it with opsbook jobs run"
    )


def last_figures(loaded: LoadedConfig, name: str) -> dict[str, Any] | None:
    """The figures of this job's newest finished run that produced a report: what this run
    compares with ("what changed since last week")."""
    from opsbook.jobs import records
    from opsbook.store.open import open_store

    opened = open_store(loaded.config.store)
    try:
        for run in records.runs(opened.engine, name, limit=20):
            figures = (run.data or {}).get("figures")
            if not run.running and isinstance(figures, dict):
                return figures
    finally:
        opened.engine.dispose()
    return None


def capacity_report(job: CapacityJob, loaded: LoadedConfig) -> tuple[ActionReport, list[Any]]:
    from datetime import UTC, datetime

    from opsbook.routines import capacity
    from opsbook.store.open import open_store

    opened = open_store(loaded.config.store)
    try:
        return capacity.perform(job, loaded.config.checks, opened.engine, datetime.now(UTC))
    finally:
        opened.engine.dispose()


def daily_report(loaded: LoadedConfig) -> ActionReport:
    from datetime import UTC, datetime

    from opsbook.routines import daily
    from opsbook.store.open import open_store

    results = daily.health(loaded)
    opened = open_store(loaded.config.store)
    try:
        return daily.perform(loaded, opened.engine, datetime.now(UTC), results)
    finally:
        opened.engine.dispose()


def review_report(loaded: LoadedConfig, period: Period) -> tuple[ActionReport, list[Any]]:
    """The weekly or monthly review; the monthly one with the capacity forecast (returned
    too, for the page's charts)."""
    from datetime import UTC, datetime

    from opsbook.routines import capacity, review
    from opsbook.store.open import open_store

    now = datetime.now(UTC)
    opened = open_store(loaded.config.store)
    try:
        found: list[Any] = []
        lines = None
        if period is Period.MONTHLY:
            settings = next(
                (j for j in loaded.config.jobs.values() if isinstance(j, CapacityJob)),
                CapacityJob(),
            )
            forecast, found = capacity.perform(settings, loaded.config.checks, opened.engine, now)
            lines = list(forecast.findings)
        return review.build(loaded, opened.engine, now, period, lines), found
    finally:
        opened.engine.dispose()
