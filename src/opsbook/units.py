"""Parsing and printing the quantities config and output use: durations, ratios, sizes.

Config writes durations as ``500ms``, ``30s``, ``5m``, ``2h``, ``30d`` (or combined, ``1h30m``),
ratios as ``90%``, sizes as ``10GB`` / ``512MiB``. Inside, durations are float seconds,
ratios are percentages (0..100) and sizes are bytes.
"""

from __future__ import annotations

import math
import re

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "p": 1000**5,
    "pb": 1000**5,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "pib": 1024**5,
}

MAX_DURATION = 100 * 365.25 * 86400.0  # seconds: beyond this, date arithmetic overflows
DURATION_HINT = "a duration such as 500ms, 5s, 2m, 1h or 30d"
PERCENT_HINT = "a percentage such as 90%"
SIZE_HINT = "a size such as 512MB, 10GiB or 1TB"


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises ValueError naming the accepted forms."""
    s = text.strip().lower().replace(" ", "")
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(s):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not s or pos != len(s):
        raise ValueError(f"expected {DURATION_HINT}, got {text!r}")
    if total > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than opsbook can count (at most 100 years)")
    return total


def parse_percent(text: str) -> float:
    s = text.strip()
    if not s.endswith("%"):
        raise ValueError(f"expected {PERCENT_HINT}, got {text!r}")
    try:
        value = float(s[:-1])
    except ValueError:
        raise ValueError(f"expected {PERCENT_HINT}, got {text!r}") from None
    if not 0 <= value <= 100:
        raise ValueError(f"expected a percentage between 0% and 100%, got {text!r}")
    return value


def parse_size(text: str) -> int:
    match = _SIZE.match(text.strip())
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"expected {SIZE_HINT}, got {text!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def format_duration(seconds: float) -> str:
    """Short human form: ``850 ms``, ``1.2 s``, ``5 s``, ``2m 30s``, ``3d 4h``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def format_latency(seconds: float | None) -> str:
    """A request's latency: whole milliseconds under a second, else seconds to 10 ms."""
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def format_config_duration(seconds: float) -> str:
    """The shortest config spelling that parses back to ``seconds`` (``5s``, ``1m``, ``30d``)."""
    for unit in ("w", "d", "h", "m", "s"):
        factor = _DURATION_UNITS[unit]
        if seconds >= factor and math.isclose(seconds % factor, 0, abs_tol=1e-9):
            return f"{int(seconds // factor)}{unit}"
    return f"{seconds * 1000:g}ms"


def format_bytes(n: float) -> str:
    """IEC units, as df -h and free -h print them."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
