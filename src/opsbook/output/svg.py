"""Small inline SVG charts for self-contained HTML reports: no JavaScript, no external assets.

Written by hand because the report must open from a mail attachment or an air-gapped
laptop: charting libraries either load scripts (Chart.js, Vega) or cost a heavy import
(matplotlib ~0.5 s) for three charts. Hovering a point shows its value (SVG <title>).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 900, 220
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 14, 28
COLOURS = {
    "requests": "#2f6fb5",
    "2xx": "#3c9a5f",
    "3xx": "#7aa6d6",
    "4xx": "#e0a030",
    "5xx": "#c8402f",
    "p50": "#3c9a5f",
    "p95": "#e0a030",
    "p99": "#c8402f",
    "mean": "#2f6fb5",
    "max": "#c8402f",
}


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** len(str(int(value))) / 10 if value >= 1 else 0.1
    while step * 10 < value:
        step *= 10
    for mult in (1, 2, 2.5, 5, 10):
        if step * mult >= value:
            return step * mult
    return value


def _frame(xs: Sequence[datetime], top: float, label: Callable[[float], str]) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">'
    ]
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{escape(label(top * i / 4))}</text>"
        )
    if xs:
        ticks = sorted({0, len(xs) // 4, len(xs) // 2, 3 * len(xs) // 4, len(xs) - 1})
        for i in ticks:
            x = _x(i, len(xs))
            anchor = "start" if i == 0 else "end" if i == len(xs) - 1 else "middle"
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" fill="#555">'
                f"{xs[i]:%m-%d %H:%M}</text>"
            )
    return parts


def _x(i: int, n: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)


def _y(value: float, top: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h - plot_h * min(value / top, 1.0)


def line_chart(
    xs: Sequence[datetime],
    series: Mapping[str, Sequence[float | None]],
    label: Callable[[float], str],
) -> str:
    """One polyline per series; gaps (None) break the line."""
    values = [v for s in series.values() for v in s if v is not None]
    top = _nice_max(max(values, default=0.0))
    parts = _frame(xs, top, label)
    for name, points in series.items():
        colour = COLOURS.get(name, "#444")
        run: list[str] = []
        for i, v in enumerate([*points, None]):
            if v is None:
                if run:
                    parts.append(
                        f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" '
                        f'points="{" ".join(run)}"/>'
                    )
                run = []
                continue
            run.append(f"{_x(i, len(xs)):.1f},{_y(v, top):.1f}")
        for i, v in enumerate(points):
            if v is not None and len(xs) <= 120:
                parts.append(
                    f'<circle cx="{_x(i, len(xs)):.1f}" cy="{_y(v, top):.1f}" r="2.2" '
                    f'fill="{colour}"><title>{xs[i]:%Y-%m-%d %H:%M} {escape(name)}: '
                    f"{escape(label(v))}</title></circle>"
                )
    parts.append("</svg>")
    return "".join(parts)


def legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<span class="key"><i style="background:{COLOURS.get(n, "#888")}"></i>{escape(n)}</span>'
        for n in names
    )
    return f'<div class="legend">{items}</div>'
