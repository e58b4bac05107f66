"""The Nagios plugin output conventions: ``TEXT | perfdata`` and the whole perfdata grammar.

Perfdata (Nagios Plugin Development Guidelines, "Performance data") is space separated
``'label'=value[UOM];[warn];[crit];[min];[max]``:

- a label is quoted with ``'`` when it holds spaces or quotes, a quote inside doubled (``''``);
- value is a number (a comma may be the decimal mark: ``0,5``) or ``U`` (could not measure);
- UOM is none (a number), ``s``/``ms``/``us``, ``%``, ``B``/``KB``/``MB``/``GB``/``TB``
  (powers of 1024), or ``c`` (a continuous counter);
- warn and crit are ranges: ``10`` (alert outside 0..10), ``10:`` (under 10), ``~:10`` (over
  10), ``10:20`` (outside), ``@10:20`` (inside); min and max are plain numbers.

Parsed values are scaled to opsbook's units (seconds, bytes), thresholds with them, and
re-emitted in the same grammar, so a plugin's ranges reach Nagios, Icinga or JSON intact.
"""

from __future__ import annotations

import re

from opsbook.results import Metric, Range, Unit, number

_ITEM = re.compile(
    r"""(?:'(?P<q>(?:[^']|'')+)'|(?P<l>[^'=\s]+))="""
    r"""(?P<v>U|[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?)"""
    r"""(?P<u>[a-zA-Z%]*)(?P<rest>(?:;[^;\s]*){0,4})"""
)
_UNITS = {"": Unit.COUNT, "s": Unit.SECONDS, "%": Unit.PERCENT, "B": Unit.BYTES, "c": Unit.COUNTER}
_SCALED = {
    "ms": ("s", 1e-3),
    "us": ("s", 1e-6),
    "KB": ("B", 1024.0),
    "MB": ("B", 1024.0**2),
    "GB": ("B", 1024.0**3),
    "TB": ("B", 1024.0**4),
}
_NAGIOS_UNITS = (Unit.SECONDS, Unit.PERCENT, Unit.BYTES, Unit.COUNTER)


def _num(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def parse_range(text: str) -> Range | None:
    """``[@][start:][end]``; None for an empty or malformed field (it is then left out)."""
    text = text.strip()
    if not text:
        return None
    inside = text.startswith("@")
    body = text[1:] if inside else text
    if ":" in body:
        start, _, end = body.partition(":")
        low = None if start.strip() == "~" else (_num(start) if start.strip() else 0.0)
        if start.strip() not in ("~", "") and low is None:
            return None
    else:
        start, end, low = "", body, 0.0
    high = _num(end) if end.strip() else None
    if end.strip() and high is None:
        return None
    if high is None and ":" not in body:
        return None
    if low is not None and high is not None and low > high:
        return None  # the guidelines: start must not exceed end
    return Range(low, high, inside)


def parse_perfdata(text: str) -> list[Metric]:
    metrics = []
    for m in _ITEM.finditer(text):
        label = (m.group("q") or "").replace("''", "'") or m.group("l")
        unit_text = m.group("u")
        scale = 1.0
        if unit_text in _SCALED:
            unit_text, scale = _SCALED[unit_text]
        unit = _UNITS.get(unit_text)
        if unit is None:
            unit, scale = Unit.COUNT, 1.0  # a UOM outside the guidelines: kept as a number
        fields = (m.group("rest") or "").split(";")[1:] + [""] * 4
        warn, crit = parse_range(fields[0]), parse_range(fields[1])
        low, high = _num(fields[2]), _num(fields[3])
        value = None if m.group("v") == "U" else _num(m.group("v"))
        metrics.append(
            Metric(
                label,
                value * scale if value is not None else None,
                unit,
                warn.scaled(scale) if warn else None,
                crit.scaled(scale) if crit else None,
                low * scale if low is not None else None,
                high * scale if high is not None else None,
            )
        )
    return metrics


def _label(name: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_.:/-]+", name):
        return name
    return "'" + name.replace("'", "''") + "'"


def format_perfdata(name: str, metric: Metric) -> str:
    """One perfdata item; units Nagios does not know (days) are left off."""
    unit = metric.unit.value if metric.unit in _NAGIOS_UNITS else ""
    parts = [
        "U" if metric.value is None else f"{number(metric.value)}{unit}",
        range_text(metric, metric.warning) or "",
        range_text(metric, metric.critical) or "",
        "" if metric.min is None else number(metric.min),
        "" if metric.max is None else number(metric.max),
    ]
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return f"{_label(name)}={';'.join(parts)}"


def range_text(metric: Metric, threshold: Range | None) -> str | None:
    """A metric's threshold in range syntax, as short as it can be and alert the same."""
    if threshold is None:
        return None
    return threshold.text(metric.min if metric.min is not None else _floor(metric.unit))


def _floor(unit: Unit) -> float | None:
    """Units that cannot go below zero: their upper thresholds read as the usual ``30``."""
    return 0.0 if unit in (Unit.SECONDS, Unit.PERCENT, Unit.BYTES, Unit.COUNTER) else None
