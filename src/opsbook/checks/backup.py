"""backup: is there a recent good backup of this source, did its last run work, and did the
newest one pass its restore test? Read from the store, where every run is recorded.

CRITICAL: no successful backup within ``max_age`` (or ever, once a run was attempted), the
last run failed, or the newest backup failed verification. WARNING: no run yet, the newest
backup reached only some of its repositories, or it has waited over a day for verification.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from opsbook.config.checks import BackupCheck
from opsbook.results import Phase, Reading, Unit
from opsbook.status import Status, worst
from opsbook.units import format_duration

if TYPE_CHECKING:
    from sqlalchemy import Engine

UNVERIFIED_WARNING = timedelta(days=1)
PROOF_COVERS = timedelta(days=1)  # a physical source's proof this recent covers its chain


def describe(check: BackupCheck) -> str:
    return f"backups of {check.source}"


async def run(check: BackupCheck, phase: Phase) -> Reading:
    phase.at("for the store")
    return await asyncio.to_thread(_read, check)


def _read(check: BackupCheck) -> Reading:
    from opsbook.backups import records
    from opsbook.backups.records import EventKind
    from opsbook.checks.stored import from_store

    def read(engine: Engine) -> tuple[list[Any], dict[str, Any]]:
        found = records.events(engine, source=check.source, kind=EventKind.BACKUP, limit=20)
        verified = records.verifications(engine)
        good = next((e for e in found if e.backup_id), None)
        if good is not None and good.backup_id and good.repo == "pgbackrest":
            # a physical source is one chain (fulls, incrementals, WAL): its newest proof by
            # restore, whichever backup it started from, stands for the newest backup
            proofs = records.events(engine, source=check.source, kind=EventKind.VERIFY, limit=1)
            if proofs and proofs[0].finished_at >= good.finished_at - PROOF_COVERS:
                verified = {**verified, good.backup_id: proofs[0]}
        return found, verified

    backups, verified = from_store(check.store, read)
    return assess(check, backups, verified, datetime.now(UTC))


def assess(
    check: BackupCheck, backups: list[Any], verified: dict[str, Any], now: datetime
) -> Reading:
    """``backups``: this source's backup events, newest first."""
    good = next((e for e in backups if e.backup_id), None)  # published somewhere
    if good is None:
        if not backups:  # configured, never run yet: say so, but a failure is what pages
            return Reading(Status.WARNING, f"no backup of {check.source} yet")
        return Reading(
            Status.CRITICAL,
            f"no backup of {check.source} yet; last attempt failed: {backups[0].detail}",
        )
    age = (now - good.finished_at).total_seconds()
    statuses = [Status.CRITICAL if age > check.max_age else Status.OK]
    parts = [f"newest backup {format_duration(age)} old ({good.backup_id})"]
    if age > check.max_age:
        parts[0] += f", over max_age {format_duration(check.max_age)}"
    latest = backups[0]
    if latest is not good and not latest.ok:
        statuses.append(Status.CRITICAL)
        parts.append(f"last run failed: {latest.detail}")
    elif not good.ok:  # published, but some repositories failed
        statuses.append(Status.WARNING)
        parts.append(good.detail)
    check_ = verified.get(good.backup_id)
    if check_ is None:
        waited = now - good.finished_at
        statuses.append(Status.WARNING if waited > UNVERIFIED_WARNING else Status.OK)
        parts.append("not verified yet")
    elif check_.ok:
        parts.append("verified")
    else:
        statuses.append(Status.CRITICAL)
        parts.append(f"verification failed: {check_.detail}")
    details = {"backup_id": good.backup_id, "age_seconds": round(age)}
    return Reading(worst(statuses), "; ".join(parts), age, Unit.SECONDS, details=details)
