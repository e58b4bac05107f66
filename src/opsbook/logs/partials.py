"""Per-chunk aggregates that merge exactly: counts and sums add, first/last take min/max.

A chunk's parsed rows are reduced to these small frames and then dropped, so memory grows
with what the report shows (distinct routes, clients, minutes, millisecond values), not
with the number of lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from opsbook.logs.parse import ENGINE, PROBES, STATIC, STRONG_PROBES
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


_PACKED = pl.col("packed")
_BUCKETS = 4096  # latency buckets a packed key leaves room for (see latency_minutes)
_BUCKET = ((pl.col("ms") + 1).cast(pl.Float64).log(2) * LOG_BUCKETS_PER_DOUBLING).floor()
_BUCKET = _BUCKET.cast(pl.Int64)
# Seeds that keep the hashes of two fields apart: ip "a" with agent "b" is not ip "b" with
# agent "a" (one seed for both would make them one key).
_SEEDS = (0x5EED1, 0x5EED2, 0x5EED3)


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
    # Merged every few chunks: its partials are large (a row per route, client or referrer a
    # chunk saw) or a bag its counts prune. The others are small a chunk and wait for every
    # few merges (access._Partials): regrouping a large state such as the per-route latency
    # for a few small partials had cost more than keeping them.
    often: bool = False
    # A chunk groups by this one integer instead of several keys (Polars encodes several
    # into bytes per row: 20-30 % slower); the keys come back from ``unpacked``, expressions
    # over each group (a column's first value) or over the integer itself ("packed").
    packed: pl.Expr | None = None
    unpacked: dict[str, pl.Expr] | None = None


def _sums(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "sum")


_CLIENT_MERGE = {**_COUNT_SUMS, **_sums("s401", "s403", "s404"), **_SPAN}


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
        build={"requests": pl.len()},
        merge=_sums("requests"),
        where=pl.col("ms").is_not_null(),
        # exact: the minute since 1970 above a bucket (0 to ~250 for a day-long request)
        packed=(pl.col("ts").dt.epoch("s") // 60) * _BUCKETS + _BUCKET,
        unpacked={
            "minute": ((_PACKED // _BUCKETS) * 60_000_000).cast(pl.Datetime("us", "UTC")),
            "bucket": (_PACKED % _BUCKETS).cast(pl.Int32),
        },
    ),
    # Routes run to hundreds of thousands (product slugs): counted by a hash of (method,
    # route), an integer; the text goes to the route_names bag (see prune) and the static
    # share is worked out per chunk, where the text is at hand.
    "routes": Kind(
        often=True,
        keys=("key",),
        build={
            "method": pl.col("method").first(),
            "route": pl.col("route").first(),
            "requests": pl.len(),
            "s4xx": ((_C >= 400) & (_C < 500)).sum(),
            "s5xx": (_C >= 500).sum(),
            "ms_total": pl.col("ms").sum(),
            "bytes": pl.col("bytes").sum(),
        },
        merge=_sums("requests", "s4xx", "s5xx", "ms_total", "bytes"),
    ),
    "route_names": Kind(keys=("key",), build={}, merge={}, bag=True, often=True),
    "static": Kind(keys=("static",), build={}, merge=_sums("requests", "bytes")),
    "route_latency": Kind(
        keys=("key", "ms"),
        build={"requests": pl.len()},
        merge=_sums("requests"),
        where=pl.col("ms").is_not_null(),
        packed=pl.col("key") ^ pl.col("ms").hash(_SEEDS[0]),  # as exact as the route's hash
        unpacked={"key": pl.col("key").first(), "ms": pl.col("ms").first()},
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
    # GoAccess's visitors (ip + day + agent), carrying every per-client figure: the clients
    # are these summed by ip (clients_of), one group-by per chunk instead of two.
    "visitors": Kind(
        often=True,
        keys=("day", "ip", "agent_hash"),
        packed=pl.col("ip").hash(_SEEDS[1])
        ^ pl.col("agent_hash")
        ^ pl.col("ts").dt.epoch("d").hash(_SEEDS[2]),
        unpacked={
            "day": pl.col("ts").first().dt.date(),
            "ip": pl.col("ip").first(),
            "agent_hash": pl.col("agent_hash").first(),
        },
        build={
            **_COUNTS,
            "s401": (_C == 401).sum(),
            "s403": (_C == 403).sum(),
            "s404": (_C == 404).sum(),
            "bytes": pl.col("bytes").sum(),
            "first": pl.col("ts").min(),
            "last": pl.col("ts").max(),
        },
        merge=_CLIENT_MERGE,
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
        often=True,
        keys=("ref_key",),
        key_exprs=(pl.col("referer").hash().alias("ref_key"),),
        build={"referer": pl.col("referer").first(), "requests": pl.len()},
        merge=_sums("requests"),
        where=~pl.col("referer").is_in(["-", ""]),
    ),
    "referer_names": Kind(keys=("ref_key",), build={}, merge={}, bag=True, often=True),
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


# made from another kind's chunk frame rather than from the rows
_FROM_OTHERS = ("referring_sites", "referer_names", "route_names", "static")
# A bag's text is needed only for the rows a report can show: the `top` first by each of
# these columns (the errors list ranks by 5xx then 4xx). A count only grows, so a key under
# a ranking's current floor that never comes back can never reach it, and one that comes
# back brings its text with it: pruning a bag at a merge leaves every shown row its text.
_SHOWN_BY = {
    "route_names": ("routes", (("requests", 0), ("ms_total", 1), ("s5xx", 1), ("s4xx", 1))),
    "referer_names": ("referers", (("requests", 0),)),
}  # bag: (the kind that counts it, (column, the least value a shown row has))


def reduce_plans(
    rows: pl.LazyFrame, probes: str = PROBES, strong: str = STRONG_PROBES
) -> dict[str, pl.LazyFrame]:
    """Every aggregate of a chunk's rows as a plan, for one ``collect_all`` (Polars runs them
    side by side, reading the rows once); ``finished`` makes partials of what they give.
    ``probes``: the regex of every attack path (the built-in ones and logs.probe_paths);
    ``strong``: those never an app's own route."""
    frame = rows.with_columns(
        pl.col("path").str.contains(probes).alias("probe"),
        (pl.col("route").hash() ^ pl.col("method").hash()).alias("key"),
        pl.col("agent").hash().alias("agent_hash"),
    ).cache()
    # the strong patterns are looked for in the few probe rows, not in every path
    probed = frame.filter("probe").with_columns(pl.col("path").str.contains(strong).alias("strong"))
    plans = {}
    for name, kind in KINDS.items():
        if name in _FROM_OTHERS:
            continue
        source = probed if kind.probed else frame
        source = source if kind.where is None else source.filter(kind.where)
        if kind.packed is not None and kind.unpacked is not None:
            plans[name] = _by_packed(source, kind.packed, kind.unpacked, kind.build)
            continue
        keys = kind.key_exprs or tuple(pl.col(k) for k in kind.keys)
        plans[name] = source.group_by(*keys).agg(**kind.build)
    return plans


def _by_packed(
    source: pl.LazyFrame, packed: pl.Expr, unpacked: dict[str, pl.Expr], build: dict[str, pl.Expr]
) -> pl.LazyFrame:
    """Grouped by one integer key; the keys it stands for made again, columns in key order."""
    of_rows = {name: e for name, e in unpacked.items() if "packed" not in e.meta.root_names()}
    of_key = {name: e for name, e in unpacked.items() if name not in of_rows}
    grouped = source.group_by(packed.alias("packed")).agg(**of_rows, **build)
    return grouped.with_columns(**of_key).select(*unpacked, *build)


# A partial's text copied out of the chunk's buffers: a group's first value is a view into
# the buffer its column was read into, and kept, it kept the whole buffer (a 2,000 agent
# partial pinned 5 MB of agent strings; ~10 MB a chunk until merged, then longer).
_COMPACT = (
    pl.col(pl.String) + pl.lit(""),
    pl.col(pl.List(pl.String)).list.eval(pl.element() + pl.lit("")),
)


def finished(out: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The partials of a chunk from what its plans gave: the kinds made from others' frames
    added and every frame compacted, as one Polars call (as ~15 eager steps they had cost
    3 % of the wall)."""
    plans = {name: frame.lazy() for name, frame in out.items()}
    # hosts from the distinct referrers: a regex per URL, not per line
    referers = plans["referers"]
    plans["referring_sites"] = referers.group_by(_SITE).agg(pl.col("requests").sum())
    plans["referer_names"] = referers.select("ref_key", "referer")
    plans["referers"] = referers.select("ref_key", "requests")
    routes = plans["routes"]
    static = routes.group_by(pl.col("route").str.contains(STATIC).alias("static"))
    plans["static"] = static.agg(pl.col("requests", "bytes").sum())
    plans["route_names"] = routes.select("key", "method", "route")
    plans["routes"] = routes.drop("method", "route")
    compacted = [plan.with_columns(*_COMPACT) for plan in plans.values()]
    return dict(zip(plans, pl.collect_all(compacted, engine=ENGINE), strict=True))


def reduce_chunk(
    rows: pl.DataFrame, probes: str = PROBES, strong: str = STRONG_PROBES
) -> dict[str, pl.DataFrame]:
    """A chunk's typed rows (already in memory) to its partials."""
    plans = reduce_plans(rows.lazy(), probes, strong)
    return finished(dict(zip(plans, pl.collect_all(plans.values(), engine=ENGINE), strict=True)))


def clients_of(visitors: pl.DataFrame | None) -> pl.DataFrame | None:
    """One row per client address: its visitors' (days, agents) figures together."""
    if visitors is None:
        return None
    aggs = [getattr(pl.col(column), how)() for column, how in _CLIENT_MERGE.items()]
    return visitors.group_by("ip").agg(aggs)


def ranked_named(
    counts: pl.DataFrame, names: pl.DataFrame, top: int, by: list[str], descending: list[bool]
) -> pl.DataFrame:
    """The first ``top`` rows of an aggregate counted by key, in that order, with their text
    from its bag (``by[0]`` a count, the text a tie-breaker). Only the rows at or over the
    ``top``-th count are looked up: every row that could be among the first."""
    key = names.columns[0]
    floor = counts[by[0]].top_k(top).min()
    if floor is None:
        return counts.join(names, on=key).head(0)
    tied = counts.filter(pl.col(by[0]) >= floor)
    text = names.filter(pl.col(key).is_in(tied[key].implode())).unique(key, keep="any")
    return ranked(tied.join(text, on=key), top, by, descending)


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


def merge_all(
    parts: dict[str, list[pl.DataFrame]], top: int, stacked: frozenset[str] = frozenset()
) -> dict[str, pl.DataFrame]:
    """Every kind's partials merged in one Polars call (the kinds run side by side); a kind
    with a single partial is taken as it is; a bag keeps the text of rows ``top`` may show.
    The ``stacked`` kinds are only stacked, not merged: a key may come more than once."""
    todo = {n: f for n, f in parts.items() if len(f) > 1 and not KINDS[n].bag and n not in stacked}
    plans = [_merged(n, f) for n, f in todo.items()]
    done = dict(zip(todo, pl.collect_all(plans), strict=True))
    out: dict[str, pl.DataFrame] = {}
    for name, frames in parts.items():
        if name in done:
            out[name] = done[name]
        elif frames and (KINDS[name].bag or name in stacked):
            out[name] = pl.concat(frames, rechunk=False)  # a bag is pruned below
        elif frames:
            out[name] = frames[0]
    for bag, (counted, columns) in _SHOWN_BY.items():
        if bag in out and counted in out:
            out[bag] = _pruned(out[bag], out[counted], columns, top)
    return out


def _pruned(
    bag: pl.DataFrame, counts: pl.DataFrame, columns: tuple[tuple[str, int], ...], top: int
) -> pl.DataFrame:
    """The bag's rows for keys at or over any ranking's floor (the ``top``-th value)."""
    key = bag.columns[0]
    shown = [
        pl.col(column) >= max(floor, least)
        for column, least in columns
        if isinstance(floor := counts[column].fill_null(0).top_k(top).min(), int)
    ]
    keys = counts.filter(pl.any_horizontal(shown))[key] if shown else counts[key]
    return bag.filter(pl.col(key).is_in(keys.implode())).unique(key, keep="any")
