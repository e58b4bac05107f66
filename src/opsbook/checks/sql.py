"""sql: a configured read-only query's number, or rows of label and number, judged by
thresholds in either direction and, if asked, by the band it usually stays in.

The query runs on a session where every transaction is read-only and statement_timeout is
the check's timeout, prepared (the extended protocol) so it is one statement: a query that
tries to write, or to smuggle a second statement, is refused by the server itself.
"""

from __future__ import annotations

import asyncio
import math
import time
from decimal import Decimal
from typing import Any

from opsbook.checks import bands
from opsbook.checks.pgsession import session
from opsbook.config.db_checks import SqlCheck
from opsbook.errors import CheckUnavailable, DatabaseError
from opsbook.results import Metric, Phase, Reading, Unit, judge, number
from opsbook.secrets import mask_dsn
from opsbook.status import Status, worst
from opsbook.units import format_bytes, format_duration

READ_ONLY = "25006"  # read_only_sql_transaction
MULTIPLE = "42601"  # syntax_error, as "cannot insert multiple commands into a prepared statement"


def describe(check: SqlCheck) -> str:
    return mask_dsn(check.dsn)


async def run(check: SqlCheck, phase: Phase) -> Reading:
    phase.at("for the query")
    rows = await asyncio.to_thread(fetch, check)
    return assess(check, rows, phase.check)


def fetch(check: SqlCheck) -> list[tuple[Any, ...]]:
    try:
        with session(check.dsn, check.timeout, statement_timeout=check.timeout,
                     read_only=True) as conn:  # fmt: skip
            # prepared, so sent by the extended protocol, which takes one statement only
            cur = conn.execute(check.query, prepare=True)
            if cur.description is None:
                raise CheckUnavailable("query: returned no rows (expected a SELECT)")
            width = len(cur.description)
            rows = [tuple(r.values()) for r in cur.fetchmany(check.max_rows + 1)]
    except DatabaseError as exc:
        raise CheckUnavailable(_why(exc, check)) from exc
    if width not in (1, 2):
        raise CheckUnavailable(
            f"query: returned {width} columns; expected one number, or a label and a number"
        )
    if len(rows) > check.max_rows:
        raise CheckUnavailable(f"query: returned more than {check.max_rows} rows (max_rows)")
    return rows


def _why(exc: DatabaseError, check: SqlCheck) -> str:
    if exc.canceled:
        return f"query took over {check.timeout:g} s (timeout)"
    if exc.sqlstate == READ_ONLY:
        return "query tried to write: a sql check runs read-only"
    if exc.sqlstate == MULTIPLE and "multiple commands" in exc.reason:
        return "query: expected one statement, got several"
    return f"query failed: {exc.reason}"


def assess(check: SqlCheck, rows: list[tuple[Any, ...]], name: str) -> Reading:
    if not rows:
        raise CheckUnavailable("query: returned no rows")
    if len(rows[0]) == 1:
        if len(rows) > 1:
            raise CheckUnavailable(
                f"query: returned {len(rows)} rows of one column; expected one number, "
                "or rows of label and number"
            )
        labelled = [("value", _number(rows[0][0], "the value"))]
    else:
        labelled = [(str(label), _number(v, f"row {str(label)!r}")) for label, v in rows]
    w = check.warning.range if check.warning else None
    c = check.critical.range if check.critical else None
    statuses, metrics, parts = [], [], []
    for label, value in labelled:
        status = judge(value, w, c)
        shown = _shown(check, value)
        if check.unusual:
            verdict = bands.judge((name, check.query, label), value, time.monotonic(),
                                  check.k, float(check.min_history), floor=None)  # fmt: skip
            if not verdict.usual and status is Status.OK:
                status = Status.WARNING
            shown = verdict.says(shown)
        statuses.append(status)
        metrics.append(Metric(label, value, check.unit, w, c))
        parts.append(shown if label == "value" else f"{label} {shown}")
    total = math.fsum(v for _, v in labelled)
    message = "; ".join(parts[:10]) + (f"; … {len(parts) - 10} more" if len(parts) > 10 else "")
    main_metrics = () if len(labelled) == 1 else tuple(metrics)
    return Reading(worst(statuses), message, total, check.unit, main_metrics)


def _shown(check: SqlCheck, value: float) -> str:
    if check.unit is Unit.SECONDS:
        return format_duration(value)
    if check.unit is Unit.BYTES:
        return format_bytes(value)
    return number(value) + ("%" if check.unit is Unit.PERCENT else "")


def _number(value: object, what: str) -> float:
    if value is None:
        raise CheckUnavailable(f"query: {what} is NULL; expected a number (use coalesce)")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise CheckUnavailable(
            f"query: {what} is {type(value).__name__} {str(value)[:40]!r}; expected a number"
        )
    out = float(value)
    if not math.isfinite(out):
        raise CheckUnavailable(f"query: {what} is {out}; expected a finite number")
    return out
