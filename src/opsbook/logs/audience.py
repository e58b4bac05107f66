"""GoAccess's panels from the aggregates of the same single pass: unique visitors per day,
referrers and referring sites, browsers and operating systems (crawlers apart), hits by hour
of day, static against dynamic requests, and the 404 list.

User agents are classified once per distinct string (thousands, not millions), in the order
GoAccess's own list checks them: crawlers and scripts first, then Edge before Chrome before
Safari (each claims to be the next).
"""

from __future__ import annotations

from collections import Counter
from datetime import tzinfo

import polars as pl

from opsbook.logs.model import Audience, Count, Day
from opsbook.logs.partials import ranked, ranked_named

CRAWLERS = (
    r"(?i)bot\b|bot/|crawl|spider|slurp|curl/|wget/|python-requests|python-urllib|httpx|"
    r"go-http-client|okhttp|java/|libwww|scrapy|axios|node-fetch|postman|headless|"
    r"uptime|pingdom|monitor|nagios|check_http|zgrab|masscan|nmap|nuclei|sqlmap|"
    r"facebookexternalhit|feedfetcher|preview"
)
_BROWSERS = (
    ("Edge", r"Edg(?:e|A|iOS)?/"),
    ("Opera", r"OPR/|Opera"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Safari/|AppleWebKit/.*Mobile/"),
    ("Internet Explorer", r"MSIE |Trident/"),
)
_SYSTEMS = (
    ("Android", r"Android"),
    ("iOS", r"iPhone|iPad|iPod|iOS"),
    ("Windows", r"Windows"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux|X11|Ubuntu|Fedora"),
)
TOP = 20


def _first_match(text: pl.Expr, names: tuple[tuple[str, str], ...], otherwise: str) -> pl.Expr:
    """The name of the first pattern ``text`` matches, in the list's order."""
    chosen: pl.Expr = pl.lit(otherwise)
    for name, pattern in reversed(names):  # built from the last, so the first match wins
        chosen = pl.when(text.str.contains(pattern)).then(pl.lit(name)).otherwise(chosen)
    return chosen


def classify(agents: pl.Series) -> pl.DataFrame:
    """Per agent string: ``name`` (browser, or the crawler's own name), ``system`` (empty for
    crawlers) and ``crawler``."""
    agent = pl.col("agent").fill_null("")
    crawler = agent.is_in(["", "-"]) | agent.str.contains(CRAWLERS)
    own_name = agent.str.split("/").list.first().str.split(" ").list.first().str.slice(0, 40)
    return pl.DataFrame({"agent": agents}).select(
        pl.col("agent"),
        pl.when(crawler)
        .then(pl.when(own_name == "").then(pl.lit("(none)")).otherwise(own_name))
        .otherwise(_first_match(agent, _BROWSERS, "Others"))
        .alias("name"),
        pl.when(crawler)
        .then(pl.lit(""))
        .otherwise(_first_match(agent, _SYSTEMS, "Unknown"))
        .alias("system"),
        crawler.alias("crawler"),
    )


def audience(parts: dict[str, pl.DataFrame | None], tz: tzinfo, top: int = TOP) -> Audience:
    browsers, systems, crawlers = _agents(parts["agents"], top)
    static, dynamic = _static(parts["static"])
    return Audience(
        days=_days(parts["visitors"]),
        visitors=_visitors(parts["visitors"]),
        referrers=_referrers(parts["referers"], parts["referer_names"], top),
        referring_sites=_top(parts["referring_sites"], "site", top),
        browsers=browsers,
        systems=systems,
        crawlers=crawlers,
        hours=_hours(parts["minutes"], tz),
        static=static,
        dynamic=dynamic,
        not_found=_top(parts["not_found"], "path", top),
    )


def _days(visitors: pl.DataFrame | None) -> tuple[Day, ...]:
    if visitors is None or visitors.height == 0:
        return ()
    per_day = (
        visitors.group_by("day")
        .agg(pl.col("requests").sum(), pl.len().alias("visitors"), pl.col("bytes").sum())
        .sort("day")
    )
    return tuple(
        Day(r["day"], r["requests"], r["visitors"], r["bytes"])
        for r in per_day.iter_rows(named=True)
    )


def _visitors(visitors: pl.DataFrame | None) -> int:
    if visitors is None or visitors.height == 0:
        return 0
    return int(visitors.select(pl.struct("ip", "agent_hash").n_unique()).item())


def _top(frame: pl.DataFrame | None, key: str, top: int) -> tuple[Count, ...]:
    if frame is None or frame.height == 0:
        return ()
    best = ranked(frame, top, ["requests", key], [True, False])
    return tuple(Count(r[key], r["requests"]) for r in best.iter_rows(named=True))


def _referrers(
    counts: pl.DataFrame | None, names: pl.DataFrame | None, top: int
) -> tuple[Count, ...]:
    if counts is None or names is None:
        return ()
    best = ranked_named(counts, names, top, ["requests", "referer"], [True, False])
    return tuple(Count(text, n) for text, n in best.select("referer", "requests").iter_rows())


def _agents(
    agents: pl.DataFrame | None, top: int
) -> tuple[tuple[Count, ...], tuple[Count, ...], tuple[Count, ...]]:
    browsers: Counter[str] = Counter()
    systems: Counter[str] = Counter()
    crawlers: Counter[str] = Counter()
    if agents is not None and agents.height:
        kinds = classify(agents["agent"]).with_columns(agents["requests"])
        for name, system, crawler, requests in kinds.select(
            "name", "system", "crawler", "requests"
        ).iter_rows():
            if crawler:
                crawlers[name] += requests
            else:
                browsers[name] += requests
                systems[system] += requests

    def ranked(c: Counter[str]) -> tuple[Count, ...]:
        return tuple(Count(k, n) for k, n in sorted(c.items(), key=lambda x: (-x[1], x[0]))[:top])

    return ranked(browsers), ranked(systems), ranked(crawlers)


def _hours(minutes: pl.DataFrame | None, tz: tzinfo) -> tuple[int, ...]:
    counts = [0] * 24
    if minutes is None:
        return tuple(counts)
    for minute, requests in minutes.select("minute", "requests").iter_rows():
        if minute is not None:
            counts[minute.astimezone(tz).hour] += requests
    return tuple(counts)


def _static(sums: pl.DataFrame | None) -> tuple[tuple[int, int], tuple[int, int]]:
    """(static, dynamic) as (requests, bytes), from the per-chunk sums by parse.STATIC."""
    out = {True: (0, 0), False: (0, 0)}
    if sums is None:
        return out[True], out[False]
    for is_static, requests, total in sums.select("static", "requests", "bytes").iter_rows():
        out[bool(is_static)] = (int(requests), int(total))
    return out[True], out[False]
