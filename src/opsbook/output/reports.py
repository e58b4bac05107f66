"""The calendar's reports as pages: markdown for chat and mail, one self-contained HTML page
(inline SVG charts, no scripts, no external assets) for a browser or an attachment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING

from opsbook.incidents.report import render_html
from opsbook.output.svg import legend, line_chart

if TYPE_CHECKING:
    from opsbook.routines.capacity import Forecast

AHEAD_DAYS = 30  # how far a capacity chart draws the trend past today


def page(markdown: str, title: str, charts: Sequence[tuple[str, str]] = ()) -> str:
    """``charts``: (heading, svg) pairs, placed after the text."""
    html = render_html(markdown, title)
    if not charts:
        return html
    extra = "".join(f"<h3>{escape(h)}</h3>{svg}" for h, svg in charts)
    style = ("<style>.legend{margin:.2rem 0 1rem}.key{margin-right:1rem}.key i{display:inline-"
             "block;width:.8rem;height:.8rem;margin-right:.3rem}</style>")  # fmt: skip
    return html.replace("</body>", f"<h2>Charts</h2>{style}{extra}</body>")


def capacity_charts(found: Sequence[Forecast]) -> list[tuple[str, str]]:
    out = []
    for f in found:
        if f.slope is None or f.intercept is None or not f.days:
            continue
        origin = f.days[0][0]
        last = f.days[-1][0]
        xs = [at for at, _ in f.days] + [last + timedelta(days=d + 1) for d in range(AHEAD_DAYS)]
        observed: list[float | None] = [v for _, v in f.days] + [None] * AHEAD_DAYS
        trend: list[float | None] = [
            f.intercept + f.slope * (x - origin).total_seconds() / 86400 for x in xs
        ]
        series: dict[str, list[float | None]] = {"daily max": observed, "trend": trend}
        if f.target.limit is not None:
            series["limit"] = [f.target.limit] * len(xs)
        svg = line_chart(xs, series, _label(f.target.unit))
        out.append((f.target.key, svg + legend(list(series))))
    return out


def _label(unit: str) -> Callable[[float], str]:
    def label(value: float) -> str:
        return f"{value:.3g}{unit}"

    return label
