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
_REF = pl.col("referer")
# The host of a referrer URL, by two replacements (a regex that only matches runs on
# the fast engine; one capturing the host took twice as long); not a URL: as it is.
_SITE = (
    pl.when(_REF.str.contains(r"^[A-Za-z][A-Za-z0-9+.-]*://"))
    .then(
        _REF.str.replace(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?", "")
        .str.replace(r"[/:?#].*$", "")
        .str.to_lowercase()
    )
    .otherwise(_REF)
    .alias("site")
)


@dataclass(frozen=True)
class Kind:
    """One aggregate: its group keys, how a chunk computes it, how partials merge."""

    keys: tuple[str, ...]
    build: dict[str, pl.Expr]
    merge: dict[str, str]  # column -> "sum" | "min" | "max"
    where: pl.Expr | None = None
    key_exprs: tuple[pl.Expr, ...] = ()
    probed: bool = False  # read from the probe rows only (they alone have "strong")
    bag: bool = False  # text by key: kept as each chunk gave it, never merged (see below)


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
    # Routes run to hundreds of thousands (product slugs): grouped by a hash of (method,
    # route), an integer, with the text carried along once per group.
    "routes": Kind(
        keys=("key",),
        build={
            "method": pl.col("method").first(),
            "route": pl.col("route").first(),
            **_COUNTS,
            "ms_total": pl.col("ms").sum(),
            "bytes": pl.col("bytes").sum(),
        },
        merge={"method": "first", "route": "first", **_COUNT_SUMS, "ms_total": "sum"},
    ),
    "route_latency": Kind(
        keys=("key", "ms"),
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
        probed=True,
    ),
    # Who the app answers: a route answered 2xx for many clients is the app's own, whatever
    # a probe pattern says (/shop/index.jsp on a Java shop). Up to APP_CLIENTS clients each.
    "route_clients": Kind(  # of the routes a weak probe pattern matches, only
        keys=("route",),
        build={"ips": pl.col("ip").unique().head(APP_CLIENTS)},
        merge={"ips": "ips"},
        where=~pl.col("strong") & (_C >= 200) & (_C < 300),
        probed=True,
    ),
    # GoAccess's panels, in the same pass: visitors (ip + day + agent), referrers, 404s
    "visitors": Kind(
        keys=("day", "ip", "agent_hash"),
        key_exprs=(
            pl.col("ts").dt.date().alias("day"),
            pl.col("ip"),
            pl.col("agent_hash"),
        ),
        build={"requests": pl.len(), "bytes": pl.col("bytes").sum()},
        merge=_sums("requests", "bytes"),
    ),
    "referring_sites": Kind(  # from each chunk's distinct referrers (see reduce_chunk)
        keys=("site",),
        build={},
        merge=_sums("requests"),
    ),
    # Referrer URLs are nearly one per request on a big site: counted exactly by an integer
    # hash (merges add integers), their text in a bag of each chunk's distinct ones, looked
    # up at the end for the few the report shows (merging 400,000 URLs cost more than the
    # rest of the merges together).
    "referers": Kind(
        keys=("ref_key",),
        key_exprs=(pl.col("referer").hash().alias("ref_key"),),
        build={"referer": pl.col("referer").first(), "requests": pl.len()},
        merge=_sums("requests"),
        where=~pl.col("referer").is_in(["-", ""]),
    ),
    "referer_names": Kind(keys=("ref_key",), build={}, merge={}, bag=True),
    "not_found": Kind(
        keys=("path",), build={"requests": pl.len()}, merge=_sums("requests"), where=_C == 404
    ),
    "denied_routes": Kind(  # where the 401/403/404 of a client went
        keys=("ip", "method", "route"),
        build={"requests": pl.len(), "first": pl.col("ts").min(), "last": pl.col("ts").max()},
        merge={**_sums("requests"), **_SPAN},
        where=_C.is_in(DENIED),
    ),
    "agents": Kind(
        keys=("agent_hash",),
        build={"agent": pl.col("agent").first(), "requests": pl.len()},
        merge={"agent": "first", "requests": "sum"},
    ),
}


def reduce_chunk(
    rows: pl.DataFrame, probes: str = PROBES, strong: str = STRONG_PROBES
) -> dict[str, pl.DataFrame]:
    """``probes``: the regex of every attack path (the built-in ones and logs.probe_paths);
    ``strong``: those never an app's own route."""
    rows = rows.with_columns(
        pl.col("path").str.contains(probes).alias("probe"),
        (pl.col("route").hash() ^ pl.col("method").hash()).alias("key"),
        pl.col("agent").hash().alias("agent_hash"),
    )
    # One lazy plan for every aggregate, collected at once: Polars runs them side by side
    # and releases the GIL once, instead of sixteen eager calls.
    frame = rows.lazy()
    # the strong patterns are looked for in the few probe rows, not in every path
    probed = frame.filter("probe").with_columns(pl.col("path").str.contains(strong).alias("strong"))
    names = [name for name in KINDS if name not in ("referring_sites", "referer_names")]
    plans = []
    for name in names:
        kind = KINDS[name]
        source = probed if kind.probed else frame
        source = source if kind.where is None else source.filter(kind.where)
        keys = kind.key_exprs or tuple(pl.col(k) for k in kind.keys)
        plans.append(source.group_by(*keys).agg(**kind.build))
    out = dict(zip(names, pl.collect_all(plans), strict=True))
    # hosts from the distinct referrers: a regex per URL, not per line
    referers = out["referers"]
    out["referring_sites"] = referers.group_by(_SITE).agg(pl.col("requests").sum())
    out["referer_names"] = referers.select("ref_key", "referer")
    out["referers"] = referers.select("ref_key", "requests")
    return out


def named(counts: pl.DataFrame, names: pl.DataFrame, text: str, top: int) -> list[tuple[str, int]]:
    """The ``top`` most frequent of an aggregate counted by hash (``ref_key``, ``requests``),
    with their text from the bag; ties in the text's order."""
    if counts.height == 0:
        return []
    floor = counts["requests"].top_k(top).min()
    tied = counts.filter(pl.col("requests") >= floor)  # every row that could be in the top
    text_of = names.filter(pl.col("ref_key").is_in(tied["ref_key"].implode()))
    text_of = text_of.unique("ref_key", keep="any")
    best = tied.join(text_of, on="ref_key").sort(["requests", text], descending=[True, False])
    return [(row[text], row["requests"]) for row in best.head(top).iter_rows(named=True)]


def ranked(frame: pl.DataFrame, top: int, by: list[str], descending: list[bool]) -> pl.DataFrame:
    """The first ``top`` rows in that order: a partial selection, not a sort of every row
    (an aggregate of routes or referrers runs to hundreds of thousands)."""
    best = frame.top_k(top, by=by, reverse=[not d for d in descending])
    return best.sort(by, descending=descending)


def _merged(name: str, frames: list[pl.DataFrame]) -> pl.LazyFrame:
    kind = KINDS[name]
    aggs = {
        col: pl.col(col).explode().unique().head(APP_CLIENTS)
        if how == "ips"
        else getattr(pl.col(col), how)()
        for col, how in kind.merge.items()
    }
    # Matched by name: a merged frame lists its columns in merge order, a chunk in build order.
    return pl.concat(frames, how="diagonal_relaxed").lazy().group_by(*kind.keys).agg(**aggs)


def merge(name: str, frames: list[pl.DataFrame]) -> pl.DataFrame:
    if KINDS[name].bag:
        return pl.concat(frames, rechunk=False)
    return _merged(name, frames).collect()


def merge_all(parts: dict[str, list[pl.DataFrame]]) -> dict[str, pl.DataFrame]:
    """Every kind's partials merged in one Polars call (the kinds run side by side);
    a kind with a single partial is taken as it is, a bag's frames are put together."""
    todo = {n: f for n, f in parts.items() if len(f) > 1 and not KINDS[n].bag}
    done = dict(zip(todo, pl.collect_all([_merged(n, f) for n, f in todo.items()]), strict=True))
    return {
        name: done[name] if name in done else merge(name, frames)
        for name, frames in parts.items()
        if frames
    }
