"""The Nagios plugin output conventions: ``TEXT | perfdata`` and the perfdata grammar.

Perfdata is ``'label'=value[UOM];[warn];[crit];[min];[max]``, space separated, labels quoted
when they contain spaces or quotes (Nagios Plugin Development Guidelines, section 2.6).
"""

from __future__ import annotations

import re

from opsbook.results import Metric, Unit

_PERF = re.compile(
    r"""(?:'(?P<q>(?:[^']|'')+)'|(?P<l>[^'=\s]+))=(?P<v>-?[\d.]+(?:[eE][-+]?\d+)?|U)"""
    r"""(?P<u>[a-zA-Z%]*)(?P<rest>(?:;[^;\s]*){0,4})"""
)
_UNITS = {"s": Unit.SECONDS, "%": Unit.PERCENT, "B": Unit.BYTES}
_SCALED = {
    "ms": ("s", 1e-3),
    "us": ("s", 1e-6),
    "KB": ("B", 1e3),
    "MB": ("B", 1e6),
    "GB": ("B", 1e9),
    "TB": ("B", 1e12),
}


def _num(text: str) -> float | None:
    """A threshold field: plain numbers only; Nagios ranges like 10:20 are kept out."""
    try:
        return float(text)
    except ValueError:
        return None


def parse_perfdata(text: str) -> list[Metric]:
    metrics = []
    for m in _PERF.finditer(text):
        if m.group("v") == "U":
            continue  # "U" = the plugin could not measure this value
        label = (m.group("q") or "").replace("''", "'") or m.group("l")
        unit_text = m.group("u")
        scale = 1.0
        if unit_text in _SCALED:
            unit_text, scale = _SCALED[unit_text]
        fields = (m.group("rest") or "").split(";")[1:] + [""] * 4
        warn, crit, low, high = (_num(f) for f in fields[:4])
        metrics.append(
            Metric(
                label,
                float(m.group("v")) * scale,
                _UNITS.get(unit_text, Unit.COUNT),
                warn * scale if warn is not None else None,
                crit * scale if crit is not None else None,
                low * scale if low is not None else None,
                high * scale if high is not None else None,
            )
        )
    return metrics


def _label(name: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_.:/-]+", name):
        return name
    return "'" + name.replace("'", "''") + "'"


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def format_perfdata(name: str, metric: Metric) -> str:
    """One perfdata item; units Nagios does not know (days) are left off."""
    unit = metric.unit.value if metric.unit in (Unit.SECONDS, Unit.PERCENT, Unit.BYTES) else ""
    parts = [
        f"{_fmt(metric.value)}{unit}",
        _fmt(metric.warning),
        _fmt(metric.critical),
        _fmt(metric.min),
        _fmt(metric.max),
    ]
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return f"{_label(name)}={';'.join(parts)}"
