"""Keeping the results table small: raw results for `retention.raw`, then 5-minute rollups
(count per status, min/avg/max value, average duration) for `retention.rollups`; every other
measurement (check_metrics) the same way, into min/avg/max per measurement and bucket.

Only whole 5-minute buckets older than the raw horizon are rolled up, and they are deleted in
the same transaction, so no bucket is ever counted twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    case,
    cast,
    delete,
    func,
    insert,
    select,
)

from opsbook.store.tables import check_metrics, check_results, check_rollups, metric_rollups
from opsbook.store.tx import begin

BUCKET_S = 300


def _bucket(conn: Connection, at: ColumnElement[datetime]) -> ColumnElement[Any]:
    """The start of a row's 5-minute bucket, as the dialect writes timestamps."""
    if conn.dialect.name == "postgresql":
        epoch = func.extract("epoch", at)
        return func.to_timestamp(func.floor(epoch / BUCKET_S) * BUCKET_S)
    seconds = cast(func.strftime("%s", at), Integer)
    # as SQLAlchemy writes a DateTime on SQLite (microseconds included): text compared with
    # text, a bucket without them would sort before the same instant written with them
    stamp = func.strftime("%Y-%m-%d %H:%M:%S", (seconds // BUCKET_S) * BUCKET_S, "unixepoch")
    return stamp + ".000000"  # SQLAlchemy renders + on strings as ||


def roll_up(engine: Engine, now: datetime, raw_keep_s: float, rollup_keep_s: float) -> int:
    """Fold old raw results into rollups; returns how many raw rows were folded."""
    horizon = now - timedelta(seconds=raw_keep_s)
    aligned = datetime.fromtimestamp(
        int(horizon.timestamp()) // BUCKET_S * BUCKET_S, tz=horizon.tzinfo
    )
    with begin(engine) as conn:
        bucket = _bucket(conn, check_results.c.at).label("bucket")
        status = check_results.c.status
        summary = (
            select(
                check_results.c.check_name,
                bucket,
                func.count().label("samples"),
                func.sum(case((status == 0, 1), else_=0)).label("ok"),
                func.sum(case((status == 1, 1), else_=0)).label("warning"),
                func.sum(case((status == 2, 1), else_=0)).label("critical"),
                func.sum(case((status == 3, 1), else_=0)).label("unknown"),
                func.min(check_results.c.value).label("value_min"),
                func.max(check_results.c.value).label("value_max"),
                func.avg(check_results.c.value).label("value_avg"),
                func.avg(check_results.c.duration_ms).label("duration_avg_ms"),
            )
            .where(check_results.c.at < aligned)
            .group_by(check_results.c.check_name, bucket)
        )
        conn.execute(
            insert(check_rollups).from_select(
                [
                    "check_name",
                    "bucket",
                    "samples",
                    "ok",
                    "warning",
                    "critical",
                    "unknown",
                    "value_min",
                    "value_max",
                    "value_avg",
                    "duration_avg_ms",
                ],
                summary,
            )
        )
        folded = conn.execute(delete(check_results).where(check_results.c.at < aligned)).rowcount
        _roll_up_metrics(conn, aligned)
        keep = now - timedelta(seconds=rollup_keep_s)
        conn.execute(delete(check_rollups).where(check_rollups.c.bucket < keep))
        conn.execute(delete(metric_rollups).where(metric_rollups.c.bucket < keep))
    return int(folded or 0)


def _roll_up_metrics(conn: Connection, aligned: datetime) -> None:
    m = check_metrics.c
    bucket = _bucket(conn, m.at).label("bucket")
    summary = (
        select(
            m.check_name,
            m.name,
            bucket,
            func.count().label("samples"),
            func.min(m.value).label("value_min"),
            func.max(m.value).label("value_max"),
            func.avg(m.value).label("value_avg"),
        )
        .where(m.at < aligned)
        .group_by(m.check_name, m.name, bucket)
    )
    columns = ["check_name", "name", "bucket", "samples", "value_min", "value_max", "value_avg"]
    conn.execute(insert(metric_rollups).from_select(columns, summary))
    conn.execute(delete(check_metrics).where(m.at < aligned))
