"""How an access report reads on a terminal and in JSON (shape documented in docs/logs.md);
error-log templates: logs_errors.py."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from opsbook.logs.model import AccessReport, Latency, Route, Suspect, Unparsed
from opsbook.output.logs_audience import (
    answered_json,
    answered_table,
    audience_json,
    audience_table,
)
from opsbook.output.table import Cell, Column, printable, render, styled
from opsbook.timefmt import human, iso
from opsbook.units import format_bytes, format_latency


def _lat(lat: Latency | None) -> dict[str, float] | None:
    if lat is None:
        return None
    return {k: round(getattr(lat, k), 6) for k in ("p50", "p95", "p99", "max")}


def _route(r: Route) -> dict[str, Any]:
    return {
        "method": r.method,
        "route": r.route,
        "requests": r.requests,
        "4xx": r.s4xx,
        "5xx": r.s5xx,
        "total_seconds": round(r.total_seconds, 3),
        "bytes": r.bytes,
        "latency_seconds": _lat(r.latency),
    }


def _suspect(s: Suspect) -> dict[str, Any]:
    return {
        "ip": s.ip,
        "reasons": list(s.reasons),
        "requests": s.requests,
        "401": s.s401,
        "403": s.s403,
        "404": s.s404,
        "peak_denied_per_minute": s.peak_denied_per_minute,
        "score": s.score,
        "first": iso(s.first),
        "last": iso(s.last),
        "probes": [
            {
                "path": p.path,
                "requests": p.requests,
                "answered": p.answered,
                "first": iso(p.first),
                "last": iso(p.last),
            }
            for p in s.probes
        ],
        "denied_routes": [
            {
                "method": h.method,
                "route": h.route,
                "requests": h.requests,
                "first": iso(h.first),
                "last": iso(h.last),
            }
            for h in s.denied_routes
        ],
    }


def access_json(r: AccessReport) -> dict[str, Any]:
    span = r.span_seconds
    return {
        "files": list(r.files),
        "log_format": r.log_format,
        "latency_field": r.latency_field,
        "requests": r.requests,
        "unparsed": r.unparsed,
        "unparsed_examples": [
            {"file": u.file, "line": u.line, "text": u.text} for u in r.unparsed_examples
        ],
        "first": iso(r.first),
        "last": iso(r.last),
        "requests_per_second": round(r.requests / span, 3) if span > 0 else None,
        "status_classes": dict(r.classes),
        "status_codes": {str(k): v for k, v in r.statuses.items()},
        "shares": {"4xx": round(r.share("4xx"), 6), "5xx": round(r.share("5xx"), 6)},
        "bytes": r.bytes,
        "latency_seconds": _lat(r.latency),
        "routes": [_route(x) for x in r.routes],
        "routes_by_time": [_route(x) for x in r.routes_by_time],
        "routes_by_errors": [_route(x) for x in r.routes_by_errors],
        "clients": [
            {
                "ip": c.ip,
                "requests": c.requests,
                "4xx": c.s4xx,
                "5xx": c.s5xx,
                "bytes": c.bytes,
                "first": iso(c.first),
                "last": iso(c.last),
            }
            for c in r.clients
        ],
        "user_agents": [{"agent": a, "requests": n} for a, n in r.agents],
        "suspicious": [_suspect(s) for s in r.suspicious],
        "suspicious_total": r.suspicious_total,
        "answered_probes": answered_json(r.answered_probes),
        "audience": audience_json(r.audience),
        "timeline": [
            {
                "start": iso(b.start),
                "seconds": b.seconds,
                "requests": b.requests,
                **b.classes,
                "p50": b.p50,
                "p95": b.p95,
                "p99": b.p99,
            }
            for b in r.timeline
        ],
        "notes": list(r.notes),
    }


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "-"


_ROUTE_COLUMNS = [
    Column("route", wrap=True),
    *(Column(h, "right") for h in ("requests", "share", "5xx", "4xx", "p50", "p95", "p99")),
    Column("total time", "right"),
]


def _routes_table(routes: tuple[Route, ...], total: int) -> str:
    rows: list[list[Cell | str]] = []
    for x in routes:
        lat = x.latency
        p50, p95, p99 = (lat.p50, lat.p95, lat.p99) if lat else (None, None, None)
        five = Cell(str(x.s5xx), "red" if x.s5xx else "")
        row: list[Cell | str] = [f"{x.method} {x.route}", str(x.requests), _pct(x.requests, total)]
        row += [five, str(x.s4xx), *map(format_latency, (p50, p95, p99))]
        row.append(f"{x.total_seconds:.0f} s")
        rows.append(row)
    return render(_ROUTE_COLUMNS, rows)


def _suspects_table(r: AccessReport, tz: tzinfo) -> str:
    rows: list[list[Cell | str]] = []
    for s in r.suspicious:
        probes = ", ".join(
            f"{p.path} x{p.requests}" + (" ANSWERED" if p.answered else "") for p in s.probes[:4]
        )
        if not s.probes:
            probes = ", ".join(f"{h.route} x{h.requests}" for h in s.denied_routes[:4])
        when = f"{human(s.first, tz)} – {human(s.last, tz)}"
        rows.append([s.ip, "; ".join(s.reasons), f"{s.s401}/{s.s403}/{s.s404}", when, probes])
    columns = [Column("ip"), Column("why"), Column("401/403/404"), Column("when")]
    return render([*columns, Column("paths", wrap=True)], rows)


_TIMELINE_ROWS = 24


def _timeline_table(r: AccessReport, tz: tzinfo) -> str:
    """At most 24 rows; each the sum of consecutive steps (worst p95 among them)."""
    per_row = -(-len(r.timeline) // _TIMELINE_ROWS)
    rows: list[list[Cell | str]] = []
    for i in range(0, len(r.timeline), per_row):
        group = r.timeline[i : i + per_row]
        requests = sum(b.requests for b in group)
        seconds = sum(b.seconds for b in group)
        five = sum(b.classes["5xx"] for b in group)
        p95s = [b.p95 for b in group if b.p95 is not None]
        share = five / requests if requests else 0.0
        worst = format_latency(max(p95s) if p95s else None)
        rows.append([
            human(group[0].start, tz), str(requests), f"{requests / seconds:.1f}",
            Cell(f"{share:.1%}", "red" if share >= 0.05 else ""), worst,
        ])  # fmt: skip
    cols = [Column("from"), *(Column(h, "right") for h in ("requests", "per s", "5xx", "p95 max"))]
    return render(cols, rows)


def _example(u: Unparsed) -> str:
    return f"  {printable(u.file)}:{u.line}: {printable(u.text[:160])}"


def access_table(r: AccessReport, tz: tzinfo) -> str:
    out: list[str] = []
    if r.requests == 0:
        out.append(f"no requests in {', '.join(r.files)}")
        if r.unparsed:
            out.append(styled(f"{r.unparsed} line(s) did not parse as {r.log_format!r}:", "yellow"))
            out.extend(_example(u) for u in r.unparsed_examples)
        out.extend(styled(f"note: {n}", "dim") for n in r.notes)
        return "\n".join(out)
    span = r.span_seconds
    rate = f", {r.requests / span:.1f}/s" if span > 0 else ""
    out.append(
        f"{r.requests} requests{rate} from {human(r.first, tz)} to {human(r.last, tz)}, "
        f"{format_bytes(r.bytes)} sent"
    )
    if r.unparsed:
        out.append(styled(f"{r.unparsed} line(s) did not parse as {r.log_format!r}:", "yellow"))
        out.extend(_example(u) for u in r.unparsed_examples)
    shares = "  ".join(f"{c} {n} ({_pct(n, r.requests)})" for c, n in r.classes.items())
    out.append(f"status: {shares}")
    five = r.share("5xx")
    if five > 0.05:
        out.append(styled(f"5xx share {five:.1%} is over the runbook's 5 %", "red"))
    codes = ", ".join(
        f"{k}: {v}" for k, v in sorted(r.statuses.items(), key=lambda kv: -kv[1])[:10]
    )
    out.append(f"codes: {codes}")
    if r.latency is not None:
        lat = r.latency
        shown = "  ".join(
            f"{k} {format_latency(getattr(lat, k))}" for k in ("p50", "p95", "p99", "max")
        )
        line = f"latency ({r.latency_field}): {shown}"
        out.append(styled(line, "red") if lat.p95 > 2 else line)
    if len(r.timeline) > 1:
        out += ["", "over time", _timeline_table(r, tz)]
    out.append("")
    out.append("top routes by requests")
    out.append(_routes_table(r.routes, r.requests))
    if r.latency is not None:
        out += ["", "top routes by total time", _routes_table(r.routes_by_time, r.requests)]
    if r.routes_by_errors:
        out += ["", "top routes by errors", _routes_table(r.routes_by_errors, r.requests)]
    out += ["", "top clients"]
    client_columns = [Column("ip"), *(Column(h, "right") for h in ("requests", "4xx", "5xx"))]
    out.append(
        render(
            [*client_columns, Column("bytes", "right")],
            [
                [c.ip, str(c.requests), str(c.s4xx), str(c.s5xx), format_bytes(c.bytes)]
                for c in r.clients[:10]
            ],
        )
    )
    out += answered_table(r.answered_probes, tz)
    out.append("")
    if r.suspicious:
        listed = len(r.suspicious)
        count = f"{r.suspicious_total}" + (
            f", the top {listed} shown" if listed < r.suspicious_total else ""
        )
        out.append(styled(f"suspicious clients ({count}), most suspect first", "yellow"))
        out.append(_suspects_table(r, tz))
    else:
        out.append("suspicious clients: none")
    out += audience_table(r.audience, r.requests)
    out.extend(styled(f"note: {n}", "dim") for n in r.notes)
    return "\n".join(out)
