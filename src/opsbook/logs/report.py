"""Merged aggregates to an AccessReport: percentiles, top lists, suspects, the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from opsbook.logs.formats import LogFormat
from opsbook.logs.model import (
    AccessReport,
    Bucket,
    Client,
    Latency,
    ProbedPath,
    Route,
    RouteHit,
    Suspect,
    Unparsed,
)
from opsbook.logs.quantiles import log_bucket_ms, quantiles

CLASSES = ("2xx", "3xx", "4xx", "5xx")
_STEPS_MINUTES = (1, 5, 10, 15, 30, 60, 180, 360, 720, 1440)
_MAX_POINTS = 240


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a client counts as suspicious; the defaults flag scanners, not busy users."""

    burst_per_minute: int = 20  # 401/403/404 in one minute
    denied_min: int = 10  # 401+403 in total, and…
    denied_share: float = 0.5  # …at least this share of the client's requests


def _latency(values: list[int], counts: list[int]) -> Latency | None:
    if not values:
        return None
    p50, p95, p99 = quantiles(values, counts, (0.5, 0.95, 0.99))
    return Latency(p50 / 1000, p95 / 1000, p99 / 1000, values[-1] / 1000)


def _route_latencies(
    frame: pl.DataFrame | None, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], Latency | None]:
    if frame is None or not wanted:
        return {}
    keys = pl.DataFrame(list(wanted), schema=["method", "route"], orient="row")
    grouped = (
        frame.join(keys, on=["method", "route"])
        .sort("method", "route", "ms")
        .group_by("method", "route", maintain_order=True)
        .agg(pl.col("ms"), pl.col("requests"))
    )
    return {
        (row["method"], row["route"]): _latency(row["ms"], row["requests"])
        for row in grouped.iter_rows(named=True)
    }


def _routes(
    routes: pl.DataFrame | None, latency: pl.DataFrame | None, top: int
) -> tuple[tuple[Route, ...], tuple[Route, ...], tuple[Route, ...]]:
    if routes is None or routes.height == 0:
        return (), (), ()
    routes = routes.with_columns(pl.col("ms_total").fill_null(0))
    by_count = routes.sort(["requests", "route"], descending=[True, False]).head(top)
    by_time = routes.sort(["ms_total", "route"], descending=[True, False]).head(top)
    by_errors = (
        routes.filter((pl.col("s5xx") + pl.col("s4xx")) > 0)
        .sort(["s5xx", "s4xx", "route"], descending=[True, True, False])
        .head(top)
    )
    wanted = {
        (r["method"], r["route"])
        for f in (by_count, by_time, by_errors)
        for r in f.iter_rows(named=True)
    }
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
                latency=lat.get((r["method"], r["route"])),
            )
            for r in frame.iter_rows(named=True)
        )

    return make(by_count), make(by_time), make(by_errors)


def _suspects(
    parts: dict[str, pl.DataFrame | None], limits: Thresholds, top: int
) -> tuple[Suspect, ...]:
    clients, probes, denied = parts["clients"], parts["probes"], parts["denied_minutes"]
    if clients is None:
        return ()
    # Narrowed in Polars first: tens of thousands of clients, a handful of suspects.
    peak = pl.DataFrame(schema={"ip": pl.String, "peak": pl.UInt32})
    if denied is not None:
        peak = denied.group_by("ip").agg(pl.col("requests").max().cast(pl.UInt32).alias("peak"))
    probe_ips = probes["ip"].unique() if probes is not None else pl.Series([], dtype=pl.String)
    refused = pl.col("s401") + pl.col("s403")
    candidates = (
        clients.join(peak, on="ip", how="left")
        .with_columns(pl.col("peak").fill_null(0))
        .filter(
            pl.col("ip").is_in(probe_ips.implode())
            | (pl.col("peak") >= limits.burst_per_minute)
            | (
                (refused >= limits.denied_min)
                & (refused >= limits.denied_share * pl.col("requests"))
            )
        )
    )
    ips = candidates["ip"].implode()
    probed: dict[str, list[ProbedPath]] = {}
    if probes is not None:
        mine = probes.filter(pl.col("ip").is_in(ips)).sort(
            ["requests", "path"], descending=[True, False]
        )
        for r in mine.iter_rows(named=True):
            probed.setdefault(r["ip"], []).append(
                ProbedPath(r["path"], r["requests"], r["answered"], r["first"], r["last"])
            )
    routes: dict[str, list[RouteHit]] = {}
    if parts["denied_routes"] is not None:
        mine = parts["denied_routes"].filter(pl.col("ip").is_in(ips))
        for r in mine.sort(["requests", "route"], descending=[True, False]).iter_rows(named=True):
            hit = RouteHit(r["method"], r["route"], r["requests"], r["first"], r["last"])
            routes.setdefault(r["ip"], []).append(hit)
    suspects = [_suspect(r, limits, probed.get(r["ip"], []), routes.get(r["ip"], []))
                for r in candidates.iter_rows(named=True)]  # fmt: skip
    # A probe that got an answer (a 200 on /.env) first: that is the one to act on.
    suspects.sort(
        key=lambda s: (
            not any(p.answered for p in s.probes),
            -(s.s401 + s.s403 + s.s404 + sum(p.requests for p in s.probes)),
            s.ip,
        )
    )
    return tuple(suspects[: max(top, 50)])


def _suspect(
    r: dict[str, Any], limits: Thresholds, probes: list[ProbedPath], routes: list[RouteHit]
) -> Suspect:
    reasons = []
    if probes:
        answered = sum(1 for p in probes if p.answered)
        got = f", {answered} answered with 2xx/3xx" if answered else ""
        reasons.append(f"probed {len(probes)} attack path(s){got}")
    if r["peak"] >= limits.burst_per_minute:
        reasons.append(f"burst of 401/403/404: {r['peak']} in one minute")
    refused = r["s401"] + r["s403"]
    if refused >= limits.denied_min and refused >= limits.denied_share * r["requests"]:
        reasons.append(f"denied {refused} of {r['requests']} requests (401/403)")
    return Suspect(
        ip=r["ip"], reasons=tuple(reasons), requests=r["requests"], s401=r["s401"],
        s403=r["s403"], s404=r["s404"], peak_denied_per_minute=r["peak"], first=r["first"],
        last=r["last"], probes=tuple(probes), denied_routes=tuple(routes[:10]),
    )  # fmt: skip


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
    if parts["latency"] is not None and parts["latency"].height:
        lat = parts["latency"].sort("ms")
        overall = _latency(lat["ms"].to_list(), lat["requests"].to_list())
    by_count, by_time, by_errors = _routes(parts["routes"], parts["route_latency"], top)
    clients: tuple[Client, ...] = ()
    if parts["clients"] is not None:
        clients = tuple(
            Client(r["ip"], r["requests"], r["s4xx"], r["s5xx"], r["bytes"], r["first"], r["last"])
            for r in parts["clients"]
            .sort(["requests", "ip"], descending=[True, False])
            .head(top)
            .iter_rows(named=True)
        )
    agents: tuple[tuple[str, int], ...] = ()
    if parts["agents"] is not None:
        agents = tuple(
            parts["agents"]
            .sort(["requests", "agent"], descending=[True, False])
            .head(top)
            .iter_rows()
        )
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
        suspicious=_suspects(parts, thresholds, top),
        timeline=_timeline(minutes, parts["latency_minutes"]),
        notes=notes,
    )
