"""Per-chunk aggregates that merge exactly: counts and sums add, first/last take min/max.

A chunk's parsed rows are reduced to these small frames and then dropped, so memory grows
with what the report shows (distinct routes, clients, minutes, millisecond values), not
with the number of lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from opsbook.logs.parse import PROBES, STRONG_PROBES
from opsbook.logs.quantiles import LOG_BUCKETS_PER_DOUBLING

_C = pl.col("status")
_COUNTS = {
    "requests": pl.len(),
    "s2xx": ((_C >= 200) & (_C < 300)).sum(),
    "s3xx": ((_C >= 300) & (_C < 400)).sum(),
    "s4xx": ((_C >= 400) & (_C < 500)).sum(),
    "s5xx": (_C >= 500).sum(),
}
_MINUTE = pl.col("ts").dt.truncate("1m").alias("minute")
_COUNT_SUMS = dict.fromkeys((*_COUNTS, "bytes"), "sum")
_SPAN = {"first": "min", "last": "max"}
DENIED = (401, 403, 404)
APP_CLIENTS = 5  # distinct clients answered 2xx on a route that make it the app's own


@dataclass(frozen=True)
class Kind:
    """One aggregate: its group keys, how a chunk computes it, how partials merge."""

    keys: tuple[str, ...]
    build: dict[str, pl.Expr]
    merge: dict[str, str]  # column -> "sum" | "min" | "max"
    where: pl.Expr | None = None
    key_exprs: tuple[pl.Expr, ...] = ()


def _sums(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "sum")


KINDS: dict[str, Kind] = {
    "minutes": Kind(
        keys=("minute",),
        key_exprs=(_MINUTE,),
        build={
            **_COUNTS,
            "bytes": pl.col("bytes").sum(),
            "first": pl.col("ts").min(),
            "last": pl.col("ts").max(),
        },
        merge={**_COUNT_SUMS, **_SPAN},
    ),
    "statuses": Kind(keys=("status",), build={"requests": pl.len()}, merge=_sums("requests")),
    "latency": Kind(
        keys=("ms",),
        build={"requests": pl.len()},
        merge=_sums("requests"),
        where=pl.col("ms").is_not_null(),
    ),
    "latency_minutes": Kind(
        keys=("minute", "bucket"),
        key_exprs=(
            _MINUTE,
            ((pl.col("ms") + 1).cast(pl.Float64).log(2) * LOG_BUCKETS_PER_DOUBLING)
            .floor()
            .cast(pl.Int32)
            .alias("bucket"),
        ),
        build={"requests": pl.len()},
        merge=_sums("requests"),
        where=pl.col("ms").is_not_null(),
    ),
    "routes": Kind(
        keys=("method", "route"),
        build={
            **_COUNTS,
            "ms_total": pl.col("ms").sum(),
            "bytes": pl.col("bytes").sum(),
        },
        merge={**_COUNT_SUMS, "ms_total": "sum"},
    ),
    "route_latency": Kind(
        keys=("method", "route", "ms"),
        build={"requests": pl.len()},
        merge=_sums("requests"),
        where=pl.col("ms").is_not_null(),
    ),
    "clients": Kind(
        keys=("ip",),
        build={
            **_COUNTS,
            "s401": (_C == 401).sum(),
            "s403": (_C == 403).sum(),
            "s404": (_C == 404).sum(),
            "bytes": pl.col("bytes").sum(),
            "first": pl.col("ts").min(),
            "last": pl.col("ts").max(),
        },
        merge={**_COUNT_SUMS, **_sums("s401", "s403", "s404"), **_SPAN},
    ),
    "denied_minutes": Kind(
        keys=("ip", "minute"),
        key_exprs=(pl.col("ip"), _MINUTE),
        build={"requests": pl.len()},
        merge=_sums("requests"),
        where=_C.is_in(DENIED),
    ),
    "probes": Kind(
        keys=("ip", "path"),
        build={
            "requests": pl.len(),
            "answered": ((_C >= 200) & (_C < 400)).sum(),  # a probe that got a 2xx/3xx
            "answered_bytes": pl.when((_C >= 200) & (_C < 400)).then(pl.col("bytes")).max(),
            "status": _C.max(),
            "strong": pl.col("strong").any(),
            "first": pl.col("ts").min(),
            "last": pl.col("ts").max(),
        },
        merge={
            **_sums("requests", "answered"),
            "answered_bytes": "max",
            "status": "max",
            "strong": "max",
            **_SPAN,
        },
        where=pl.col("probe"),
    ),
    # Who the app answers: a route answered 2xx for many clients is the app's own, whatever
    # a probe pattern says (/shop/index.jsp on a Java shop). Up to APP_CLIENTS clients each.
    "route_clients": Kind(
        keys=("route",),
        build={"ips": pl.col("ip").unique().head(APP_CLIENTS)},
        merge={"ips": "ips"},
        where=(_C >= 200) & (_C < 300),
    ),
    # GoAccess's panels, in the same pass: visitors (ip + day + agent), referrers, 404s
    "visitors": Kind(
        keys=("day", "ip", "agent_hash"),
        key_exprs=(
            pl.col("ts").dt.date().alias("day"),
            pl.col("ip"),
            pl.col("agent").hash().alias("agent_hash"),
        ),
        build={"requests": pl.len(), "bytes": pl.col("bytes").sum()},
        merge=_sums("requests", "bytes"),
    ),
    "referers": Kind(
        keys=("referer",),
        build={"requests": pl.len()},
        merge=_sums("requests"),
        where=~pl.col("referer").is_in(["-", ""]),
    ),
    "not_found": Kind(
        keys=("path",), build={"requests": pl.len()}, merge=_sums("requests"), where=_C == 404
    ),
    "denied_routes": Kind(  # where the 401/403/404 of a client went
        keys=("ip", "method", "route"),
        build={"requests": pl.len(), "first": pl.col("ts").min(), "last": pl.col("ts").max()},
        merge={**_sums("requests"), **_SPAN},
        where=_C.is_in(DENIED),
    ),
    "agents": Kind(keys=("agent",), build={"requests": pl.len()}, merge=_sums("requests")),
}


def reduce_chunk(
    rows: pl.DataFrame, probes: str = PROBES, strong: str = STRONG_PROBES
) -> dict[str, pl.DataFrame]:
    """``probes``: the regex of every attack path (the built-in ones and logs.probe_paths);
    ``strong``: those never an app's own route."""
    rows = rows.with_columns(
        pl.col("path").str.contains(probes).alias("probe"),
        pl.col("path").str.contains(strong).alias("strong"),
    )
    out: dict[str, pl.DataFrame] = {}
    for name, kind in KINDS.items():
        frame = rows if kind.where is None else rows.filter(kind.where)
        keys = kind.key_exprs or tuple(pl.col(k) for k in kind.keys)
        out[name] = frame.group_by(*keys).agg(**kind.build)
    return out


def merge(name: str, frames: list[pl.DataFrame]) -> pl.DataFrame:
    kind = KINDS[name]
    aggs = {
        col: pl.col(col).explode().unique().head(APP_CLIENTS)
        if how == "ips"
        else getattr(pl.col(col), how)()
        for col, how in kind.merge.items()
    }
    # Matched by name: a merged frame lists its columns in merge order, a chunk in build order.
    return pl.concat(frames, how="diagonal_relaxed").group_by(*kind.keys).agg(**aggs)
