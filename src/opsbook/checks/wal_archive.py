"""wal_archive: is the cluster's WAL reaching the archive (pg_stat_archiver)?

CRITICAL: the newest archive attempt failed (the archive_command, pgBackRest's
archive-push, returned an error), or WAL written more than ``rpo`` ago is still not
archived (a restore now would lose it). WARNING: archiving lags more than archive_timeout
plus a minute behind written WAL. OK on an idle cluster whose WAL is all archived, however
old: nothing is at risk. The value is the age of the oldest unarchived WAL (0 when none).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from opsbook.checks.pgsession import session
from opsbook.config.db_checks import WalArchiveCheck
from opsbook.results import Phase, Reading, Unit
from opsbook.secrets import mask_dsn
from opsbook.status import Status
from opsbook.units import format_duration

MARGIN = 60.0  # seconds archiving may trail archive_timeout before it is said

QUERY = """
SELECT a.archived_count, a.last_archived_wal, a.last_archived_time,
       a.failed_count, a.last_failed_wal, a.last_failed_time,
       pg_walfile_name(pg_current_wal_lsn()) AS current_wal,
       pg_current_wal_lsn()::text AS current_lsn,
       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size') AS seg_bytes,
       current_setting('archive_mode') AS archive_mode,
       now() AS now
FROM pg_stat_archiver a"""


def describe(check: WalArchiveCheck) -> str:
    return mask_dsn(check.dsn)


async def run(check: WalArchiveCheck, phase: Phase) -> Reading:
    phase.at("for pg_stat_archiver")
    row = await asyncio.to_thread(fetch, check)
    return assess(check, row)


def fetch(check: WalArchiveCheck) -> dict[str, Any]:
    with session(check.dsn, check.timeout, statement_timeout=check.timeout,
                 read_only=True) as conn:  # fmt: skip
        row = conn.execute(QUERY).fetchone()
    assert row is not None
    return dict(row)


def unarchived_bytes(row: dict[str, Any]) -> int:
    """WAL written after the last archived segment ended (the current segment included)."""
    high, _, low = str(row["current_lsn"]).partition("/")
    current = (int(high, 16) << 32) + int(low, 16)
    last = row["last_archived_wal"]
    if not last or len(last) < 24 or not all(c in "0123456789ABCDEF" for c in last[:24]):
        return current  # nothing archived yet (or a .partial / .history name): all of it
    seg_bytes = int(row["seg_bytes"])
    per_log = (1 << 32) // seg_bytes
    end = (int(last[8:16], 16) * per_log + int(last[16:24], 16) + 1) * seg_bytes
    return max(0, current - end)


def assess(check: WalArchiveCheck, row: dict[str, Any]) -> Reading:
    now: datetime = row["now"] or datetime.now(UTC)
    if row["archive_mode"] == "off":
        return Reading(Status.CRITICAL, "archive_mode is off: no WAL is archived, no moment "
                       "can be restored (opsbook backup setup)")  # fmt: skip
    archived, failed = row["last_archived_time"], row["last_failed_time"]
    pending = unarchived_bytes(row)
    details = {
        "archived": row["archived_count"],
        "failed": row["failed_count"],
        "last_archived_wal": row["last_archived_wal"],
        "unarchived_bytes": pending,
    }
    if failed is not None and (archived is None or failed > archived):
        ago = format_duration((now - failed).total_seconds())
        said = (f"archiving is failing: {row['last_failed_wal']} failed {ago} ago "
                f"({row['failed_count']} failures); see PostgreSQL's log")  # fmt: skip
        return Reading(Status.CRITICAL, said, details=details)
    if pending == 0:
        return Reading(Status.OK, "every written WAL is archived", 0.0, Unit.SECONDS,
                       details=details)  # fmt: skip
    if archived is None:
        return Reading(Status.WARNING, "no WAL archived yet", None, details=details)
    # something was written after the last archived segment: at risk since about then
    age = (now - archived).total_seconds()
    said = (f"{pending} bytes of WAL not archived; the last segment archived "
            f"{format_duration(age)} ago ({row['last_archived_wal']})")  # fmt: skip
    if age > check.rpo:
        return Reading(Status.CRITICAL, f"{said}: over rpo {format_duration(check.rpo)}",
                       age, Unit.SECONDS, details=details)  # fmt: skip
    if age > check.archive_timeout + MARGIN:
        said += f": later than archive_timeout {format_duration(check.archive_timeout)}"
        return Reading(Status.WARNING, said, age, Unit.SECONDS, details=details)
    return Reading(Status.OK, said, age, Unit.SECONDS, details=details)
