"""``opsbook logs access --format html``: one self-contained page (inline CSS and SVG)."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from html import escape

from opsbook import __version__
from opsbook.logs.model import AccessReport, Bucket, Route, Suspect
from opsbook.output.logs_audience import answered_html, audience_html
from opsbook.output.svg import legend, line_chart
from opsbook.timefmt import human
from opsbook.units import format_bytes, format_latency

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #ddd;border-radius:6px;
padding:.5rem .8rem;min-width:8rem}.card b{display:block;font-size:1.3rem}.bad{color:#c8402f}
table{border-collapse:collapse;width:100%;font-size:.85rem}td,th{padding:.25rem .5rem;
border-bottom:1px solid #eee;text-align:left}td.n,th.n{text-align:right}
.legend{font-size:.8rem;margin:.2rem 0}.key{margin-right:1rem}.key i{display:inline-block;
width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}.note{color:#666}
code{font-size:.8rem;word-break:break-all}td.ip,td.ip code{white-space:nowrap;word-break:normal}
.bar{display:inline-block;height:.7rem;background:#4a7fb5}
"""


def _card(label: str, value: str, bad: bool = False) -> str:
    cls = ' class="card bad"' if bad else ' class="card"'
    return f"<div{cls}><b>{escape(value)}</b>{escape(label)}</div>"


def _routes(title: str, routes: tuple[Route, ...]) -> str:
    if not routes:
        return ""
    head = "".join(
        f'<th class="n">{h}</th>' for h in ("requests", "5xx", "4xx", "p50", "p95", "p99", "time")
    )
    rows = []
    for r in routes:
        lat = r.latency
        cells = [str(r.requests), str(r.s5xx), str(r.s4xx)]
        cells += [format_latency(v) for v in (lat.p50, lat.p95, lat.p99)] if lat else ["", "", ""]
        cells.append(f"{r.total_seconds:.0f} s")
        tds = "".join(f'<td class="n">{escape(c)}</td>' for c in cells)
        rows.append(f"<tr><td><code>{escape(r.method)} {escape(r.route)}</code></td>{tds}</tr>")
    return f"<h2>{escape(title)}</h2><table><tr><th>route</th>{head}</tr>{''.join(rows)}</table>"


def _paths(s: Suspect) -> str:
    """Probed paths (a probe that got an answer in bold red), else where the 4xx went."""
    if s.probes:
        return ", ".join(
            f'<b class="bad">{escape(p.path)} x{p.requests} ANSWERED</b>'
            if p.answered
            else f"{escape(p.path)} x{p.requests}"
            for p in s.probes[:5]
        )
    return escape(", ".join(f"{h.method} {h.route} x{h.requests}" for h in s.denied_routes[:5]))


def _covered(b: Bucket, r: AccessReport) -> float:
    """Seconds of a step the log covers: the first and last steps are usually partial."""
    start, end = b.start, b.start + timedelta(seconds=b.seconds)
    if r.first is not None:
        start = max(start, r.first)
    if r.last is not None:
        end = min(end, r.last + timedelta(seconds=1))
    return max((end - start).total_seconds(), 1.0)


def access_html(r: AccessReport, tz: tzinfo) -> str:
    xs = [b.start.astimezone(tz) for b in r.timeline]
    step = r.timeline[0].seconds if r.timeline else 60
    body: list[str] = [
        f"<h1>Access log report: {escape(', '.join(r.files))}</h1>",
        f'<p class="note">{escape(human(r.first, tz))} to {escape(human(r.last, tz))}; '
        f"format <code>{escape(r.log_format)}</code></p>",
    ]
    span = r.span_seconds
    cards = [
        _card("requests", f"{r.requests:,}"),
        _card("per second", f"{r.requests / span:.1f}" if span > 0 else "-"),
        _card("5xx share", f"{r.share('5xx'):.2%}", r.share("5xx") > 0.05),
        _card("4xx share", f"{r.share('4xx'):.2%}"),
        _card("sent", format_bytes(r.bytes)),
    ]
    if r.latency is not None:
        cards += [
            _card("p50", format_latency(r.latency.p50)),
            _card("p95", format_latency(r.latency.p95), r.latency.p95 > 2),
            _card("p99", format_latency(r.latency.p99)),
        ]
    if r.unparsed:
        cards.append(_card("unparsed lines", str(r.unparsed), True))
    body.append(f'<div class="cards">{"".join(cards)}</div>')
    if xs:
        body.append(f"<h2>Requests per second ({step // 60} min steps)</h2>")
        rates = [b.requests / _covered(b, r) for b in r.timeline]
        body.append(line_chart(xs, {"requests": rates}, lambda v: f"{v:.1f}/s"))
        # Shares as lines, 2xx being the rest: stacked to 100 % a 1 % 5xx spike is invisible.
        body.append("<h2>Share of responses (2xx: the rest)</h2>" + legend(("3xx", "4xx", "5xx")))
        shares = {
            c: [b.classes[c] / b.requests if b.requests else None for b in r.timeline]
            for c in ("3xx", "4xx", "5xx")
        }
        body.append(line_chart(xs, shares, lambda v: f"{v:.1%}"))
        if r.latency is not None:
            body.append("<h2>Latency percentiles</h2>" + legend(("p50", "p95", "p99")))
            lat = {k: [getattr(b, k) for b in r.timeline] for k in ("p50", "p95", "p99")}
            body.append(line_chart(xs, lat, format_latency))
    body.append(_routes("Top routes by requests", r.routes))
    body.append(_routes("Top routes by total time", r.routes_by_time))
    body.append(_routes("Top routes by errors", r.routes_by_errors))
    body.append(answered_html(r.answered_probes, tz))
    if r.suspicious:
        rows = "".join(
            f'<tr><td class="ip"><code>{escape(s.ip)}</code></td>'
            f"<td>{escape('; '.join(s.reasons))}</td>"
            f'<td class="n">{s.s401}/{s.s403}/{s.s404}</td>'
            f"<td>{_paths(s)}</td>"
            f"<td>{escape(human(s.first, tz))} – {escape(human(s.last, tz))}</td></tr>"
            for s in r.suspicious
        )
        body.append(
            f"<h2>Suspicious clients ({r.suspicious_total}, most suspect first)</h2>"
            "<table><tr><th>ip</th><th>why</th>"
            f'<th class="n">401/403/404</th><th>paths</th><th>when</th></tr>{rows}</table>'
        )
    clients = "".join(
        f'<tr><td class="ip"><code>{escape(c.ip)}</code></td><td class="n">{c.requests}</td>'
        f'<td class="n">{c.s4xx}</td><td class="n">{c.s5xx}</td></tr>'
        for c in r.clients
    )
    body.append(
        '<h2>Top clients</h2><table><tr><th>ip</th><th class="n">requests</th>'
        f'<th class="n">4xx</th><th class="n">5xx</th></tr>{clients}</table>'
    )
    body.append(audience_html(r.audience))
    if r.unparsed_examples:
        items = "".join(
            f"<li><code>{escape(u.file)}:{u.line}: {escape(u.text)}</code></li>"
            for u in r.unparsed_examples
        )
        body.append(f"<h2>Lines that did not parse ({r.unparsed})</h2><ul>{items}</ul>")
    body.extend(f'<p class="note">{escape(n)}</p>' for n in r.notes)
    body.append(f'<p class="note">opsbook {escape(__version__)}</p>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Access log report</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )
