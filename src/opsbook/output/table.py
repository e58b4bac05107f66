"""Plain terminal tables: aligned columns, one column wrapped to the terminal width, colour
by status when the output is a terminal.

Why not Rich: importing rich.console and rich.table costs ~60 ms on the reference machine,
a fifth of what `opsbook check` may take in total (bench/check_vs_bash.py), for a table this
small. Colour follows click: stripped when not a terminal, and NO_COLOR is honoured.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import click

Style = Literal["", "green", "yellow", "red", "magenta", "dim"]


@dataclass(frozen=True)
class Column:
    header: str
    align: Literal["left", "right"] = "left"
    wrap: bool = False  # this column takes the remaining width and wraps


@dataclass(frozen=True)
class Cell:
    text: str
    style: Style = ""


def styled(text: str, style: Style) -> str:
    if not style or os.environ.get("NO_COLOR"):
        return text
    if style == "dim":
        return click.style(text, dim=True)
    return click.style(text, fg=style, bold=style == "red")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text from outside (a log line, a query, an alert summary) safe on a terminal: control
    characters, escape sequences among them, become "?" (a log can carry ESC[2J)."""
    return _CONTROL.sub("?", text)


def _cell(value: Cell | str) -> Cell:
    if isinstance(value, Cell):
        return Cell(printable(value.text), value.style)
    return Cell(printable(value))


def render(columns: Sequence[Column], rows: Sequence[Sequence[Cell | str]]) -> str:
    cells = [
        [
            Cell(printable(c.text), c.style) if isinstance(c, Cell) else Cell(printable(c))
            for c in row
        ]
        for row in rows
    ]
    widths = [len(col.header) for col in columns]
    for row in cells:
        for i, cell in enumerate(row):
            if not columns[i].wrap:
                widths[i] = max(widths[i], len(cell.text))
    gap = 2
    total = shutil.get_terminal_size((100, 24)).columns
    for i, col in enumerate(columns):
        if col.wrap:
            longest = max((len(r[i].text) for r in cells), default=0)
            # a readable share of the screen, even when the other columns are wide
            least = min(longest, max(MIN_WRAP, total // 3))
            _narrow(widths, columns, i, total - least - gap * (len(columns) - 1))
            others = sum(w for j, w in enumerate(widths) if j != i) + gap * (len(columns) - 1)
            widths[i] = max(least, min(longest, total - others), len(col.header))
            cells = [_clipped(row, widths, columns) for row in cells]
    lines = [_line([Cell(c.header) for c in columns], columns, widths, gap)]
    lines.append(styled("─" * min(total, sum(widths) + gap * (len(columns) - 1)), "dim"))
    for row in cells:
        wrapped = [
            textwrap.wrap(cell.text, widths[i]) or [""] if columns[i].wrap else [cell.text]
            for i, cell in enumerate(row)
        ]
        for n in range(max(len(w) for w in wrapped)):
            parts = [Cell(w[n] if n < len(w) else "", row[i].style) for i, w in enumerate(wrapped)]
            lines.append(_line(parts, columns, widths, gap))
    return "\n".join(lines)


MIN_WRAP = 30  # the wrapped column (a message, a query) is never squeezed below this
MIN_CLIP = 12  # a text column cut to make room keeps at least this much


def _narrow(widths: list[int], columns: Sequence[Column], wrapped: int, room: int) -> None:
    """Cut the widest left-aligned text columns (never numbers, never the wrapped one) until
    the others fit in ``room``; their cells end in "…" (see _clipped)."""
    while sum(w for j, w in enumerate(widths) if j != wrapped) > room:
        cuttable = [j for j, c in enumerate(columns)
                    if j != wrapped and c.align == "left" and not c.wrap
                    and widths[j] > max(MIN_CLIP, len(c.header))]  # fmt: skip
        if not cuttable:
            return
        widest = max(cuttable, key=lambda j: widths[j])
        widths[widest] -= 1


def _clipped(row: list[Cell], widths: list[int], columns: Sequence[Column]) -> list[Cell]:
    return [
        Cell(c.text[: widths[i] - 1] + "…", c.style)
        if not columns[i].wrap and len(c.text) > widths[i]
        else c
        for i, c in enumerate(row)
    ]


def _line(cells: Sequence[Cell], columns: Sequence[Column], widths: list[int], gap: int) -> str:
    out = []
    for i, cell in enumerate(cells):
        pad = widths[i] - len(cell.text)
        text = styled(cell.text, cell.style)
        out.append(" " * pad + text if columns[i].align == "right" else text + " " * pad)
    return (" " * gap).join(out).rstrip()
