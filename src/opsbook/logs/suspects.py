"""Clients worth a look, ranked so scanners and credential stuffers come before busy users.

- A probe is a request for a path that is not the app's: a strong pattern (/.env, /.git/,
  ../) always, a weak one (/actuator, *.jsp, /wp-login.php) only where the app does not
  answer it (a route answered 2xx for APP_CLIENTS or more clients is the app's own).
- Denials count by share as well as by number: a client that got 20 404s in a minute out of
  11,000 requests is busy, not scanning.
- The score ranks an answered probe first (a 200 on /.git/HEAD is the line to act on), then
  the number of probe paths, then refused logins and 404s weighed by the client's share of
  them. Every answered probe path is also listed on its own, whatever the top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from opsbook.logs.model import AnsweredProbe, ProbedPath, RouteHit, Suspect
from opsbook.logs.parse import fold_route
from opsbook.logs.partials import APP_CLIENTS

ANSWERED_MAX = 500  # answered probe paths listed at most (a catch-all answers thousands)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a client counts as suspicious; the defaults flag scanners, not busy users."""

    burst_per_minute: int = 20  # 401/403/404 in one minute, and…
    burst_share: float = 0.2  # …at least this share of the client's requests denied
    denied_min: int = 10  # 401+403 in total, and…
    denied_share: float = 0.5  # …at least this share of the client's requests
    missing_min: int = 20  # 404s in total, and…
    missing_share: float = 0.5  # …at least this share (a scanner guessing paths)


def probes_of(parts: dict[str, pl.DataFrame | None]) -> pl.DataFrame | None:
    """The probes left once the app's own routes are taken out of the weak matches."""
    probes = parts["probes"]
    if probes is None or probes.height == 0:
        return probes
    app = parts.get("route_clients")
    own = (
        app.filter(pl.col("ips").list.len() >= APP_CLIENTS)["route"]
        if app is not None
        else pl.Series([], dtype=pl.String)
    )
    return probes.filter(pl.col("strong") | ~fold_route(pl.col("path")).is_in(own.implode()))


def answered(probes: pl.DataFrame | None) -> tuple[AnsweredProbe, ...]:
    if probes is None:
        return ()
    hits = probes.filter(pl.col("answered") > 0).sort(
        ["strong", "answered", "path"], descending=[True, True, False]
    )
    # A catch-all (an SPA's index.html) answers every path with the same body: say so.
    sizes = hits.group_by("answered_bytes").agg(pl.col("path").n_unique().alias("paths"))
    common = {b for b, n in sizes.iter_rows() if b is not None and n >= 3}
    return tuple(
        AnsweredProbe(
            r["ip"],
            r["path"],
            r["answered"],
            int(r["status"]),
            int(r["answered_bytes"] or 0),
            r["answered_bytes"] in common,
            r["first"],
            r["last"],
        )
        for r in hits.head(ANSWERED_MAX).iter_rows(named=True)
    )


def suspects(
    parts: dict[str, pl.DataFrame | None],
    probes: pl.DataFrame | None,
    limits: Thresholds,
    top: int,
) -> tuple[tuple[Suspect, ...], int]:
    """(the top suspects, ranked; how many clients are suspect in all)."""
    clients, denied = parts["clients"], parts["denied_minutes"]
    if clients is None:
        return (), 0
    # Narrowed in Polars first: tens of thousands of clients, a handful of suspects.
    peak = pl.DataFrame(schema={"ip": pl.String, "peak": pl.UInt32})
    if denied is not None:
        peak = denied.group_by("ip").agg(pl.col("requests").max().cast(pl.UInt32).alias("peak"))
    probe_ips = probes["ip"].unique() if probes is not None else pl.Series([], dtype=pl.String)
    requests = pl.col("requests")
    refused = pl.col("s401") + pl.col("s403")
    missing = pl.col("s404")
    share = (refused + missing) / requests
    burst = (pl.col("peak") >= limits.burst_per_minute) & (share >= limits.burst_share)
    stuffing = (refused >= limits.denied_min) & (refused >= limits.denied_share * requests)
    guessing = (missing >= limits.missing_min) & (missing >= limits.missing_share * requests)
    candidates = (
        clients.join(peak, on="ip", how="left")
        .with_columns(pl.col("peak").fill_null(0))
        .filter(pl.col("ip").is_in(probe_ips.implode()) | burst | stuffing | guessing)
    )
    ips = candidates["ip"].implode()
    probed: dict[str, list[ProbedPath]] = {}
    if probes is not None:
        mine = probes.filter(pl.col("ip").is_in(ips)).sort(
            ["answered", "requests", "path"], descending=[True, True, False]
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
    found = [
        _suspect(r, limits, probed.get(r["ip"], []), routes.get(r["ip"], []))
        for r in candidates.iter_rows(named=True)
    ]
    found.sort(key=lambda s: (-s.score, s.ip))
    return tuple(found[:top]), len(found)


def _suspect(
    r: dict[str, Any], limits: Thresholds, probes: list[ProbedPath], routes: list[RouteHit]
) -> Suspect:
    reasons = []
    answered_paths = sum(1 for p in probes if p.answered)
    if probes:
        got = f", {answered_paths} answered with 2xx/3xx" if answered_paths else ""
        reasons.append(f"probed {len(probes)} path(s) that are not this app's{got}")
    requests = int(r["requests"])
    refused = r["s401"] + r["s403"]
    denials = refused + r["s404"]
    share = denials / requests if requests else 0.0
    if r["peak"] >= limits.burst_per_minute and share >= limits.burst_share:
        reasons.append(f"burst of 401/403/404: {r['peak']} in one minute")
    if refused >= limits.denied_min and refused >= limits.denied_share * requests:
        reasons.append(f"denied {refused} of {requests} requests (401/403)")
    if r["s404"] >= limits.missing_min and r["s404"] >= limits.missing_share * requests:
        reasons.append(f"{r['s404']} of {requests} requests not found (404)")
    refused_share = refused / requests if requests else 0.0
    score = (
        1000 * answered_paths
        + 20 * len(probes)
        + refused * min(1.0, 2 * refused_share)
        + r["s404"] * share
        + r["peak"] * share
    )
    return Suspect(
        ip=r["ip"], reasons=tuple(reasons), requests=requests, s401=r["s401"],
        s403=r["s403"], s404=r["s404"], peak_denied_per_minute=r["peak"], first=r["first"],
        last=r["last"], probes=tuple(probes), denied_routes=tuple(routes[:10]),
        score=round(score, 1),
    )  # fmt: skip
