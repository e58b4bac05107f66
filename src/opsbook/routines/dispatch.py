"""A built-in action, by the job that names it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsbook.config.jobs import JobBase, LogRetentionJob, RestoreDrillJob, SecurityUpdatesJob
from opsbook.errors import UsageError
from opsbook.routines.model import ActionReport

if TYPE_CHECKING:
    from opsbook.config.loader import LoadedConfig


def perform(name: str, job: JobBase, loaded: LoadedConfig) -> ActionReport:
    if isinstance(job, LogRetentionJob):
        from opsbook.routines import logfiles

        return logfiles.perform(job)
    if isinstance(job, SecurityUpdatesJob):
        from opsbook.routines import updates

        return updates.perform(job)
    if isinstance(job, RestoreDrillJob):
        from opsbook.routines import drill

        assert loaded.config.backups is not None  # validated: restore-drill needs backups:
        return drill.perform(job, loaded.config.backups, loaded.config.store)
    raise UsageError(
        f"job {name} runs a command ({job.action_kind.value}), not a built-in "
        "action; run it with opsbook jobs run"
    )
