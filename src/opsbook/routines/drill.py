"""The runbook's monthly restoration test, on the calendar: the newest backup of each source
(or of the job's one) restored into a scratch place and compared (`opsbook backup verify`),
recorded as a verification like any other, and timed: the restore time is the recovery time
the team can promise."""

from __future__ import annotations

from opsbook.config.backups import Backups
from opsbook.config.jobs import RestoreDrillJob
from opsbook.errors import OpsbookError
from opsbook.routines.model import ActionReport, Area, Finding, markdown
from opsbook.status import Status
from opsbook.units import format_duration

ACTOR = "opsbook jobs: restore-drill"


def perform(job: RestoreDrillJob, backups: Backups, store: str | None) -> ActionReport:
    from opsbook.backups import jobs
    from opsbook.backups.catalog import catalog
    from opsbook.store.open import open_store

    sources = [job.source] if job.source else list(backups.sources)
    findings: list[Finding] = []
    lines: list[str] = []
    figures: dict[str, dict[str, object]] = {}
    opened = open_store(store)
    try:
        for source in sources:
            try:
                entries = catalog(backups, source=source)
                if not entries:
                    findings.append(
                        Finding(Status.CRITICAL, Area.BACKUPS, f"{source}: no backup to restore")
                    )
                    continue
                newest = entries[-1]
                done = jobs.verify_entry(backups, opened.engine, newest, actor=ACTOR)
            except OpsbookError as exc:
                findings.append(
                    Finding(
                        Status.CRITICAL,
                        Area.BACKUPS,
                        f"{source}: the restore test could not run",
                        str(exc),
                    )
                )
                continue
            took = format_duration(done.seconds)
            figures[source] = {
                "backup": done.backup_id,
                "ok": done.ok,
                "seconds": done.seconds,
                "tables": done.tables,
                "rows": done.rows,
            }
            if done.ok:
                said = f"{source}: {done.backup_id} restored and compared in {took}"
                findings.append(Finding(Status.OK, Area.BACKUPS, said, done.detail))
            else:
                findings.append(
                    Finding(
                        Status.CRITICAL,
                        Area.BACKUPS,
                        f"{source}: the restore of {done.backup_id} FAILED",
                        done.detail,
                    )
                )
            lines.append(
                f"- {source}: {done.backup_id} from {done.repo}: "
                f"{'OK' if done.ok else 'FAILED'} in {took} ({done.detail})"
            )
    finally:
        opened.engine.dispose()
    good = sum(1 for f in findings if f.status is Status.OK)
    summary = f"{good} of {len(sources)} source(s) restored and compared"
    bad = [f.title for f in findings if f.status is not Status.OK]
    if bad:
        summary += "; " + "; ".join(bad)
    draft = ActionReport("restore-drill", summary, tuple(findings), {"sources": figures})
    text = markdown("Restore drill", draft, [("Restores", lines)])
    return ActionReport(
        "restore-drill", summary, tuple(findings), {"sources": figures}, report=text
    )
