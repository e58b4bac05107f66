"""pgdiag: one `opsbook db` report (health, activity, indexes, bloat, slow-queries) as a check,
its status and one-line summary.

The collectors are synchronous (they are the CLI's too), so the report runs in a worker
thread, on a connection whose statement_timeout is the check's timeout: when the runner
gives up waiting, the server cancels the query and the thread ends soon after.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opsbook.checks.pgsession import session
from opsbook.config.checks import PgdiagCheck, PgReport
from opsbook.errors import CheckUnavailable, DatabaseError
from opsbook.results import Phase, Reading
from opsbook.secrets import mask_dsn


def describe(check: PgdiagCheck) -> str:
    return f"{check.report.value} of {mask_dsn(check.dsn)}"


async def run(check: PgdiagCheck, phase: Phase) -> Reading:
    phase.at(f"for the {check.report.value} report")
    return await asyncio.to_thread(collect, check)


def collect(check: PgdiagCheck) -> Reading:
    label = mask_dsn(check.dsn)
    try:
        with session(check.dsn, check.timeout) as conn:
            conn.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                (f"{int(check.timeout * 1000)}",),
            )
            report = _report(check, conn, label)
    except DatabaseError as exc:
        if exc.canceled:
            raise CheckUnavailable(
                f"{check.report.value} report took over {check.timeout:g} s"
            ) from exc
        raise CheckUnavailable(f"{check.report.value} report failed: {exc.reason}") from exc
    details: dict[str, Any] = {"report": check.report.value, "findings": len(report.findings)}
    return Reading(report.status, report.summary, details=details)


def _report(check: PgdiagCheck, conn: Any, label: str) -> Any:
    from opsbook.postgres.limits import DEFAULT

    limits = DEFAULT.with_(**check.limits())
    which = check.report
    if which is PgReport.ACTIVITY:
        from opsbook.postgres.activity import activity

        return activity(conn, label, limits=limits)
    if which is PgReport.SLOW_QUERIES:
        from opsbook.postgres.statements import slow_queries

        return slow_queries(conn, label)
    if which is PgReport.BLOAT:
        from opsbook.postgres.bloat import bloat

        return bloat(conn, label, limits=limits)
    if which is PgReport.INDEXES:
        from opsbook.postgres.indexes import indexes

        return indexes(conn, label)
    from opsbook.postgres.health import health

    return health(conn, label, limits=limits)
