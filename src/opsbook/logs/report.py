"""Merged aggregates to an AccessReport: percentiles, top lists, the timeline; suspects
(suspects.py) and GoAccess's panels (audience.py)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

import polars as pl

from opsbook.logs.audience import audience
from opsbook.logs.formats import LogFormat
from opsbook.logs.model import AccessReport, Bucket, Client, Latency, Route, Unparsed
from opsbook.logs.parse import unescape
from opsbook.logs.partials import ranked, ranked_named
from opsbook.logs.quantiles import log_bucket_ms, quantiles
from opsbook.logs.suspects import Thresholds, answered, probes_of, suspects

__all__ = ["CLASSES", "Thresholds", "build"]
CLASSES = ("2xx", "3xx", "4xx", "5xx")
_STEPS_MINUTES = (1, 5, 10, 15, 30, 60, 180, 360, 720, 1440)
_MAX_POINTS = 240


def _latency(values: list[int], counts: list[int]) -> Latency | None:
    if not values:
        return None
    p50, p95, p99 = quantiles(values, counts, (0.5, 0.95, 0.99))
    return Latency(p50 / 1000, p95 / 1000, p99 / 1000, values[-1] / 1000)


def _route_latencies(frame: pl.DataFrame | None, wanted: set[int]) -> dict[int, Latency | None]:
    if frame is None or not wanted:
        return {}
    keys = pl.DataFrame({"key": list(wanted)}, schema={"key": pl.UInt64})
    grouped = (
        frame.join(keys, on="key")
        .sort("key", "ms")  # stacked (access._STACKED_AT_END): a key's ms may repeat
        .group_by("key", maintain_order=True)
        .agg(pl.col("ms"), pl.col("requests"))
    )
    rows = grouped.iter_rows(named=True)
    return {row["key"]: _latency(row["ms"], row["requests"]) for row in rows}


def _routes(
    routes: pl.DataFrame | None, names: pl.DataFrame | None, latency: pl.DataFrame | None, top: int
) -> tuple[tuple[Route, ...], tuple[Route, ...], tuple[Route, ...]]:
    if routes is None or names is None or routes.height == 0:
        return (), (), ()
    routes = routes.with_columns(pl.col("ms_total").fill_null(0))
    by_count = ranked_named(routes, names, top, ["requests", "route"], [True, False])
    # routes that took time: a log without a timing field has none (ranking every route by
    # a zero had looked up the name of every route, and kept them all through the merges)
    took_time = routes.filter(pl.col("ms_total") > 0)
    by_time = ranked_named(took_time, names, top, ["ms_total", "route"], [True, False])
    by_errors = ranked_named(
        routes.filter((pl.col("s5xx") + pl.col("s4xx")) > 0),
        names,
        top,
        ["s5xx", "s4xx", "route"],
        [True, True, False],
    )
    wanted = {r["key"] for f in (by_count, by_time, by_errors) for r in f.iter_rows(named=True)}
    lat = _route_latencies(latency, wanted)

    def make(frame: pl.DataFrame) -> tuple[Route, ...]:
        return tuple(
            Route(
                method=r["method"],
                route=r["route"],
                requests=r["requests"],
                s4xx=r["s4xx"],
                s5xx=r["s5xx"],
                total_seconds=r["ms_total"] / 1000,
                bytes=r["bytes"],
                latency=lat.get(r["key"]),
            )
            for r in frame.iter_rows(named=True)
        )

    return make(by_count), make(by_time), make(by_errors)


def _timeline(minutes: pl.DataFrame | None, latency: pl.DataFrame | None) -> tuple[Bucket, ...]:
    if minutes is None or minutes.height == 0:
        return ()
    minutes = minutes.filter(pl.col("minute").is_not_null())
    if minutes.height == 0:
        return ()
    first, last = minutes["minute"].min(), minutes["minute"].max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    span = (last - first).total_seconds() / 60 + 1
    step = next((s for s in _STEPS_MINUTES if span / s <= _MAX_POINTS), _STEPS_MINUTES[-1])
    every = f"{step}m"
    counts = (
        minutes.group_by(pl.col("minute").dt.truncate(every).alias("start"))
        .agg(pl.col("requests", "s2xx", "s3xx", "s4xx", "s5xx").sum())
        .sort("start")
    )
    lat: dict[datetime, tuple[float, float, float]] = {}
    if latency is not None and latency.height:
        grouped = (
            latency.filter(pl.col("minute").is_not_null())
            .group_by(pl.col("minute").dt.truncate(every).alias("start"), "bucket")
            .agg(pl.col("requests").sum())
            .sort("start", "bucket")
            .group_by("start", maintain_order=True)
            .agg(pl.col("bucket"), pl.col("requests"))
        )
        for row in grouped.iter_rows(named=True):
            values = [log_bucket_ms(b) / 1000 for b in row["bucket"]]
            p50, p95, p99 = quantiles(values, row["requests"], (0.5, 0.95, 0.99))
            lat[row["start"]] = (p50, p95, p99)
    return tuple(
        Bucket(
            start=r["start"],
            seconds=step * 60,
            requests=r["requests"],
            classes={c: r[f"s{c}"] for c in CLASSES},
            p50=lat.get(r["start"], (None, None, None))[0],
            p95=lat.get(r["start"], (None, None, None))[1],
            p99=lat.get(r["start"], (None, None, None))[2],
        )
        for r in counts.iter_rows(named=True)
    )


def build(
    parts: dict[str, pl.DataFrame | None],
    *,
    files: tuple[str, ...],
    fmt: LogFormat,
    unparsed: int,
    examples: tuple[Unparsed, ...],
    top: int,
    thresholds: Thresholds,
    notes: tuple[str, ...],
    zone: tzinfo = UTC,
) -> AccessReport:
    minutes, statuses = parts["minutes"], parts["statuses"]
    classes = dict.fromkeys(CLASSES, 0)
    requests = total_bytes = 0
    first = last = None
    if minutes is not None and minutes.height:
        sums = minutes.select(
            pl.col("requests", "s2xx", "s3xx", "s4xx", "s5xx", "bytes").sum()
        ).row(0, named=True)
        requests, total_bytes = sums["requests"], sums["bytes"]
        classes = {c: sums[f"s{c}"] for c in CLASSES}
        first, last = minutes["first"].min(), minutes["last"].max()
    status_counts = (
        {int(s): int(n) for s, n in statuses.sort("status").iter_rows()}
        if statuses is not None
        else {}
    )
    overall = None
    if parts["route_latency"] is not None and parts["route_latency"].height:
        # every route's milliseconds together: the whole log's
        lat = parts["route_latency"].group_by("ms").agg(pl.col("requests").sum()).sort("ms")
        overall = _latency(lat["ms"].to_list(), lat["requests"].to_list())
    by_count, by_time, by_errors = _routes(
        parts["routes"], parts["route_names"], parts["route_latency"], top
    )
    clients: tuple[Client, ...] = ()
    if parts["clients"] is not None:
        clients = tuple(
            Client(r["ip"], r["requests"], r["s4xx"], r["s5xx"], r["bytes"], r["first"], r["last"])
            for r in ranked(parts["clients"], top, ["requests", "ip"], [True, False]).iter_rows(
                named=True
            )
        )
    agents: tuple[tuple[str, int], ...] = ()
    if parts["agents"] is not None:
        agents = tuple(
            (unescape(agent), n)
            for agent, n in ranked(parts["agents"], top, ["requests", "agent"], [True, False])
            .select("agent", "requests")
            .iter_rows()
        )
    probes = probes_of(parts)
    listed, total = suspects(parts, probes, thresholds, top)
    return AccessReport(
        files=files,
        log_format=fmt.source,
        latency_field=fmt.latency_field,
        requests=requests,
        unparsed=unparsed,
        unparsed_examples=examples,
        first=first if isinstance(first, datetime) else None,
        last=last if isinstance(last, datetime) else None,
        statuses=status_counts,
        classes=classes,
        bytes=total_bytes,
        latency=overall,
        routes=by_count,
        routes_by_time=by_time,
        routes_by_errors=by_errors,
        clients=clients,
        agents=agents,
        suspicious=listed,
        suspicious_total=total,
        answered_probes=answered(probes),
        timeline=_timeline(minutes, parts["latency_minutes"]),
        notes=notes,
        audience=audience(parts, zone, top),
    )
