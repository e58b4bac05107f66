"""A perfdata reader written from the Nagios Plugin Development Guidelines alone, to read
opsbook's output back as a Nagios or Icinga would: independent of opsbook.nagios on purpose.

    'label'=value[UOM];[warn];[crit];[min];[max]

Threshold ranges: "10" alerts if < 0 or > 10; "10:" if < 10; "~:10" if > 10; "10:20" if
< 10 or > 20; "@10:20" if >= 10 and <= 20.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    label: str
    value: str  # as written, UOM included ("0.5s", "U")
    warn: str
    crit: str
    min: str
    max: str

    def number(self) -> float:
        digits = self.value.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ%")
        return float(digits.replace(",", "."))

    def uom(self) -> str:
        return self.value[
            len(self.value.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ%")) :
        ]

    def state(self) -> int:
        """0 OK, 1 WARNING, 2 CRITICAL: as the guidelines' range rules read this item."""
        value = self.number()
        if self.crit and alerts(self.crit, value):
            return 2
        if self.warn and alerts(self.warn, value):
            return 1
        return 0


def alerts(spec: str, value: float) -> bool:
    inside = spec.startswith("@")
    body = spec[1:] if inside else spec
    if ":" in body:
        start_text, end_text = body.split(":", 1)
    else:
        start_text, end_text = "0", body
    start = float("-inf") if start_text == "~" else float(start_text or 0)
    end = float(end_text) if end_text else float("inf")
    assert start <= end, spec
    in_range = start <= value <= end
    return in_range if inside else not in_range


def read(perfdata: str) -> dict[str, Item]:
    """Space-separated items; labels quoted with ' (a quote inside doubled)."""
    lexer = shlex.shlex(perfdata.replace("''", "\x00"), posix=True)
    lexer.whitespace_split = True
    lexer.quotes = "'"
    lexer.escapedquotes = ""
    items = {}
    for token in lexer:
        label, _, rest = token.replace("\x00", "'").rpartition("=")
        fields = (rest.split(";") + [""] * 5)[:5]
        items[label] = Item(label, *fields)
    return items


def split_output(stdout: str) -> tuple[str, str]:
    """A plugin's first line: TEXT | PERFDATA."""
    first = stdout.splitlines()[0]
    text, _, perf = first.partition("|")
    return text.strip(), perf.strip()
