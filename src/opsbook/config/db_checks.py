"""The ``sql``, ``pgstats`` and ``pgbouncer`` check kinds: the runbook's database and business
metrics beyond reachability (what postgres_exporter and pgbouncer_exporter give a dashboard).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec

from opsbook.config.checks import CheckBase
from opsbook.config.types import Duration, Percent, Threshold
from opsbook.results import CheckKind, Unit

Count = Annotated[float, msgspec.Meta(ge=0)]


class SqlCheck(CheckBase, frozen=True, kw_only=True, tag="sql"):
    """A read-only query's number (or rows of label and number): signups in the last hour,
    orders per minute, a queue's depth."""

    kind = CheckKind.SQL
    dsn: str
    query: str
    unit: Unit = Unit.COUNT
    # a number alerts above it; {below: 1} under it; {below: 1, above: 100} outside
    warning: Threshold | None = None
    critical: Threshold | None = None
    unusual: bool = False  # WARNING when the value leaves the band learnt while running
    k: Annotated[float, msgspec.Meta(gt=0)] = 4.0  # band = median ± k·MAD
    min_history: Duration = Duration(3600)  # learn this long before judging the band
    max_rows: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    interval: Duration = Duration(60.0)

    def __post_init__(self) -> None:
        self._base_checks()
        if not self.query.strip():
            raise ValueError("query: expected a SELECT returning a number, or label and number")
        if self.warning is None and self.critical is None and not self.unusual:
            raise ValueError("expected warning, critical or unusual: true (else nothing can alert)")


class PgStatsCheck(CheckBase, frozen=True, kw_only=True, tag="pgstats"):
    """Deadlocks, rollbacks, timeouts and statement timings as rates between runs (from
    pg_stat_database, pg_stat_statements and the server's log)."""

    kind = CheckKind.PGSTATS
    dsn: str
    deadlocks_warning: Count | None = 0  # deadlocks in the interval above this: WARNING
    deadlocks_critical: Count | None = None
    timeouts_warning: Count | None = 10  # statement and lock timeouts (from `log:`)
    timeouts_critical: Count | None = None
    rollback_warning: Percent | None = None  # share of transactions rolled back
    statements: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10  # top by time, as metrics
    tables: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10  # largest tables' sizes, as metrics
    log: Path | None = None  # the PostgreSQL log, to count timeouts (readable by opsbook)
    sample: Duration = Duration(2.0)  # a one-shot check's measuring window
    timeout: Duration = Duration(10.0)
    for_: Duration | None = msgspec.field(default=Duration(0.0), name="for")  # events, not levels

    def __post_init__(self) -> None:
        self._base_checks()
        if self.sample >= self.timeout:
            raise ValueError("sample: expected shorter than timeout")
        self._rising(self.deadlocks_warning, self.deadlocks_critical, "deadlocks")
        self._rising(self.timeouts_warning, self.timeouts_critical, "timeouts")


class PgBouncerCheck(CheckBase, frozen=True, kw_only=True, tag="pgbouncer"):
    """Connection pool use from PgBouncer's admin console (SHOW POOLS, SHOW STATS)."""

    kind = CheckKind.PGBOUNCER
    connectivity = True
    dsn: str  # to the admin console: postgresql://stats@host:6432/pgbouncer
    warning: Percent = Percent(80)  # server connections in use, of the pool's size
    critical: Percent = Percent(95)
    wait_warning: Duration | None = Duration(1.0)  # the longest a client has been waiting
    wait_critical: Duration | None = Duration(5.0)
    databases: tuple[str, ...] = ()  # none: every pool but pgbouncer's own

    def __post_init__(self) -> None:
        self._base_checks()
        self._rising(self.warning, self.critical, "pool use")
        self._rising(self.wait_warning, self.wait_critical, "wait")


class WalArchiveCheck(CheckBase, frozen=True, kw_only=True, tag="wal_archive"):
    """WAL archiving of a cluster (pg_stat_archiver): failing now, or stalled while WAL is
    written, and how old the newest recoverable moment is. One is added for every pgbackrest
    backup source (backup-<source>-wal)."""

    kind = CheckKind.WAL_ARCHIVE
    dsn: str
    archive_timeout: Duration = Duration(60.0)
    rpo: Duration = Duration(300.0)  # unarchived WAL older than this: CRITICAL
    interval: Duration = Duration(60.0)

    def __post_init__(self) -> None:
        self._base_checks()
        if self.rpo < self.archive_timeout:
            raise ValueError("rpo: expected at least archive_timeout")
