"""The access report's answered probes and GoAccess's panels (visitors per day, referrers,
browsers, systems, crawlers, hours, static/dynamic, 404s) as JSON, terminal text and HTML."""

from __future__ import annotations

from datetime import tzinfo
from html import escape
from typing import Any

from opsbook.logs.model import AnsweredProbe, Audience, Count
from opsbook.output.table import Cell, Column, render, styled
from opsbook.timefmt import human, iso
from opsbook.units import format_bytes

TABLE_ANSWERED = 50  # in a terminal; JSON and HTML have them all


def answered_json(probes: tuple[AnsweredProbe, ...]) -> list[dict[str, Any]]:
    return [
        {
            "ip": p.ip,
            "path": p.path,
            "requests": p.requests,
            "status": p.status,
            "bytes": p.bytes,
            "catch_all": p.catch_all,
            "first": iso(p.first),
            "last": iso(p.last),
        }
        for p in probes
    ]


def _counts(items: tuple[Count, ...], key: str) -> list[dict[str, Any]]:
    return [{key: c.name, "requests": c.requests} for c in items]


def audience_json(a: Audience) -> dict[str, Any]:
    return {
        "visitors": a.visitors,
        "days": [
            {"day": d.day.isoformat(), "hits": d.hits, "visitors": d.visitors, "bytes": d.bytes}
            for d in a.days
        ],
        "referrers": _counts(a.referrers, "referrer"),
        "referring_sites": _counts(a.referring_sites, "site"),
        "browsers": _counts(a.browsers, "browser"),
        "operating_systems": _counts(a.systems, "system"),
        "crawlers": _counts(a.crawlers, "crawler"),
        "hours": list(a.hours),
        "static": {"requests": a.static[0], "bytes": a.static[1]},
        "dynamic": {"requests": a.dynamic[0], "bytes": a.dynamic[1]},
        "not_found": _counts(a.not_found, "path"),
    }


def answered_table(probes: tuple[AnsweredProbe, ...], tz: tzinfo) -> list[str]:
    if not probes:
        return []
    rows: list[list[Cell | str]] = [
        [
            p.ip,
            Cell(p.path, "red"),
            str(p.status),
            str(p.requests),
            format_bytes(p.bytes) + (" (catch-all?)" if p.catch_all else ""),
            human(p.last, tz),
        ]
        for p in probes[:TABLE_ANSWERED]
    ]
    columns = [Column("ip"), Column("path", wrap=True), Column("status", "right"),
               Column("times", "right"), Column("body", "right"), Column("last")]  # fmt: skip
    more = len(probes) - TABLE_ANSWERED
    tail = [styled(f"… {more} more in --format json or html", "dim")] if more > 0 else []
    head = styled(f"probe paths this server ANSWERED (2xx/3xx): {len(probes)}", "red")
    return ["", head, render(columns, rows), *tail]


def _pairs(title: str, items: tuple[Count, ...], total: int) -> list[str]:
    if not items:
        return []
    rows: list[list[Cell | str]] = [
        [c.name, str(c.requests), f"{100 * c.requests / total:.1f}%" if total else "-"]
        for c in items[:10]
    ]
    return ["", title, render([Column("", wrap=True), Column("requests", "right"),
                               Column("share", "right")], rows)]  # fmt: skip


def audience_table(a: Audience, requests: int) -> list[str]:
    out: list[str] = []
    if a.days:
        rows: list[list[Cell | str]] = [
            [d.day.isoformat(), str(d.hits), str(d.visitors), format_bytes(d.bytes)]
            for d in a.days[-14:]
        ]
        cols = [Column("day"), *(Column(h, "right") for h in ("hits", "visitors", "sent"))]
        out += ["", f"unique visitors per day ({a.visitors} in all: one IP with one agent)"]
        out.append(render(cols, rows))
    out += _pairs("referring sites", a.referring_sites, requests)
    out += _pairs("browsers (people)", a.browsers, requests)
    out += _pairs("operating systems (people)", a.systems, requests)
    out += _pairs("crawlers, scripts and monitors", a.crawlers, requests)
    if any(a.hours):
        peak = max(a.hours) or 1
        rows = [[f"{h:02d}", str(n), "#" * round(30 * n / peak)] for h, n in enumerate(a.hours)]
        out += ["", "hits by hour of day", render([Column("hour"), Column("requests", "right"),
                                                    Column("")], rows)]  # fmt: skip
    total = a.static[0] + a.dynamic[0]
    if total:
        static = f"{a.static[0]} ({100 * a.static[0] / total:.1f}%, {format_bytes(a.static[1])})"
        dynamic = (
            f"{a.dynamic[0]} ({100 * a.dynamic[0] / total:.1f}%, {format_bytes(a.dynamic[1])})"
        )
        out += ["", f"static files {static}, dynamic {dynamic}"]
    out += _pairs("not found (404), as requested", a.not_found, requests)
    return out


def answered_html(probes: tuple[AnsweredProbe, ...], tz: tzinfo) -> str:
    if not probes:
        return ""
    rows = "".join(
        f'<tr><td class="ip"><code>{escape(p.ip)}</code></td>'
        f'<td><b class="bad"><code>{escape(p.path)}</code></b></td><td class="n">{p.status}</td>'
        f'<td class="n">{p.requests}</td><td class="n">{escape(format_bytes(p.bytes))}'
        f"{' (catch-all?)' if p.catch_all else ''}</td><td>{escape(human(p.last, tz))}</td></tr>"
        for p in probes
    )
    return (
        f'<h2 class="bad">Probe paths this server answered ({len(probes)})</h2><table><tr>'
        '<th>ip</th><th>path</th><th class="n">status</th><th class="n">times</th>'
        f'<th class="n">body</th><th>last</th></tr>{rows}</table>'
    )


def _html_pairs(title: str, items: tuple[Count, ...], key: str) -> str:
    if not items:
        return ""
    rows = "".join(
        f'<tr><td><code>{escape(c.name)}</code></td><td class="n">{c.requests}</td></tr>'
        for c in items
    )
    return (
        f'<h2>{escape(title)}</h2><table><tr><th>{escape(key)}</th><th class="n">requests</th>'
        f"</tr>{rows}</table>"
    )


def audience_html(a: Audience) -> str:
    parts = []
    if a.days:
        rows = "".join(
            f'<tr><td>{d.day.isoformat()}</td><td class="n">{d.hits}</td>'
            f'<td class="n">{d.visitors}</td>'
            f'<td class="n">{escape(format_bytes(d.bytes))}</td></tr>'
            for d in a.days
        )
        parts.append(
            f"<h2>Unique visitors per day ({a.visitors} in all)</h2><table><tr><th>day</th>"
            '<th class="n">hits</th><th class="n">visitors</th><th class="n">sent</th></tr>'
            f"{rows}</table>"
        )
    parts.append(_html_pairs("Referring sites", a.referring_sites, "site"))
    parts.append(_html_pairs("Referrers", a.referrers, "referrer"))
    parts.append(_html_pairs("Browsers", a.browsers, "browser"))
    parts.append(_html_pairs("Operating systems", a.systems, "system"))
    parts.append(_html_pairs("Crawlers, scripts and monitors", a.crawlers, "crawler"))
    if any(a.hours):
        peak = max(a.hours) or 1
        bars = "".join(
            f'<tr><td>{h:02d}</td><td class="n">{n}</td><td><span class="bar" '
            f'style="width:{100 * n / peak:.0f}%"></span></td></tr>'
            for h, n in enumerate(a.hours)
        )
        parts.append(
            '<h2>Hits by hour of day</h2><table><tr><th>hour</th><th class="n">requests</th>'
            f"<th></th></tr>{bars}</table>"
        )
    total = a.static[0] + a.dynamic[0]
    if total:
        parts.append(
            f"<h2>Static and dynamic</h2><p>static files {a.static[0]} "
            f"({100 * a.static[0] / total:.1f}%, {escape(format_bytes(a.static[1]))}), dynamic "
            f"{a.dynamic[0]} ({100 * a.dynamic[0] / total:.1f}%, "
            f"{escape(format_bytes(a.dynamic[1]))})</p>"
        )
    parts.append(_html_pairs("Not found (404)", a.not_found, "path"))
    return "".join(parts)
