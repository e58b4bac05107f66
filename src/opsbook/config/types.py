"""Value types of opsbook.yaml that YAML has no word for: durations, percentages, addresses.

Each is a subclass of float/str so the rest of opsbook uses them as plain numbers and strings;
``decode_hook`` turns the file's spelling (``5s``, ``90%``, ``db:5432``) into them while the
config is validated.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opsbook.results import Range
from opsbook.units import DURATION_HINT, PERCENT_HINT, parse_duration, parse_percent


class Duration(float):
    """Seconds. Written ``500ms``, ``5s``, ``2m``, ``1h``, ``30d``; a bare number is refused."""


class Percent(float):
    """0..100. Written ``90%``; a bare number from 0 to 100 is read as a percentage."""


class Threshold:
    """A signal threshold and its direction. Written as a number, a percentage (``5%`` is 5)
    or a duration (``2s`` is 2), it alerts above that; ``{below: 1}`` alerts under 1,
    ``{below: 10, above: 100}`` outside 10..100, and a Nagios range (``"10:20"``,
    ``"@10:20"``, ``"~:5"``) as Nagios reads it. (Not a Range subclass: msgspec would decode
    a dataclass itself instead of asking ``decode_hook``.)"""

    __slots__ = ("range",)

    def __init__(self, low: float | None, high: float | None, inside: bool = False) -> None:
        self.range = Range(low, high, inside)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Threshold) and self.range == other.range

    def __hash__(self) -> int:
        return hash(self.range)

    def __repr__(self) -> str:
        return f"Threshold({self.range.text()!r})"


class HostPort(str):
    """``host:port``."""

    __slots__ = ()


class AlertSeverity:
    """The incident severity an alert opens at: one for CRITICAL, one for WARNING/UNKNOWN.

    Written ``severity: SEV-1`` (CRITICAL opens SEV-1, WARNING SEV-3, or the same level if
    that is milder) or ``severity: {critical: SEV-1, warning: SEV-2}``.
    """

    __slots__ = ("critical", "warning")
    DEFAULT_WARNING = 3

    def __init__(self, critical: int, warning: int) -> None:
        self.critical = critical
        self.warning = warning

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AlertSeverity) and (self.critical, self.warning) == (
            other.critical,
            other.warning,
        )

    def __hash__(self) -> int:
        return hash((self.critical, self.warning))

    def __repr__(self) -> str:
        return f"AlertSeverity(critical=SEV-{self.critical}, warning=SEV-{self.warning})"


DEFAULT_ALERT_SEVERITY = AlertSeverity(2, 3)
_SEVERITY_HINT = "SEV-1 … SEV-4, or {critical: SEV-1, warning: SEV-3}"


def severity_level(obj: Any) -> int:
    text = str(obj).strip().upper().removeprefix("SEV").lstrip("-")
    if text in {"1", "2", "3", "4"} and not isinstance(obj, bool):
        return int(text)
    raise ValueError(f"expected {_SEVERITY_HINT}, got {obj!r}")


def _alert_severity(obj: Any) -> AlertSeverity:
    if isinstance(obj, dict):
        unknown = set(obj) - {"critical", "warning"}
        if unknown or "critical" not in obj:
            raise ValueError(f"expected {_SEVERITY_HINT}, got {obj!r}")
        critical = severity_level(obj["critical"])
        warning = severity_level(obj.get("warning", max(critical, AlertSeverity.DEFAULT_WARNING)))
        return AlertSeverity(critical, warning)
    critical = severity_level(obj)
    return AlertSeverity(critical, max(critical, AlertSeverity.DEFAULT_WARNING))


_CHECK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def is_check_name(name: str) -> bool:
    return bool(_CHECK_NAME.match(name))


def _duration(obj: Any) -> Duration:
    if isinstance(obj, str):
        return Duration(parse_duration(obj))
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        raise ValueError(
            f"expected {DURATION_HINT}, got {obj!r} (a bare number has no unit; write {obj}s)"
        )
    raise ValueError(f"expected {DURATION_HINT}, got {obj!r}")


def _percent(obj: Any) -> Percent:
    if isinstance(obj, str):
        return Percent(parse_percent(obj))
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        if not 0 <= obj <= 100:
            raise ValueError(f"expected a percentage between 0% and 100%, got {obj!r}")
        return Percent(obj)
    raise ValueError(f"expected {PERCENT_HINT}, got {obj!r}")


THRESHOLD_HINT = (
    "a number, a percentage (5%) or a duration (2s) to alert above it, "
    "{below: X} / {above: X} to say the direction, or a Nagios range such as '10:20'"
)


def _threshold(obj: Any) -> Threshold:
    if isinstance(obj, dict):
        unknown = set(obj) - {"above", "below"}
        if unknown or not obj:
            raise ValueError(f"expected {{below: X}} and/or {{above: X}}, got {obj!r}")
        low = _bound(obj["below"]) if "below" in obj else None
        high = _bound(obj["above"]) if "above" in obj else None
        if low is not None and high is not None and low > high:
            raise ValueError(f"below ({low:g}) must not be over above ({high:g})")
        return Threshold(low, high)
    if isinstance(obj, str) and (obj.strip().startswith("@") or ":" in obj):
        return _nagios_range(obj.strip())
    return Threshold(None, _bound(obj))


def _bound(obj: Any) -> float:
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        return float(obj)
    if isinstance(obj, str):
        text = obj.strip()
        if text.endswith("%"):
            return parse_percent(text)
        try:
            return float(text)
        except ValueError:
            try:
                return parse_duration(text)
            except ValueError:
                pass
    raise ValueError(f"expected {THRESHOLD_HINT}, got {obj!r}")


def _nagios_range(text: str) -> Threshold:
    inside = text.startswith("@")
    start, sep, end = text.removeprefix("@").partition(":")
    if not sep:  # "@10": inside 0..10
        start, end = "0", start
    low = None if start.strip() == "~" else _bound(start or "0")
    high = _bound(end) if end.strip() else None
    if low is not None and high is not None and low > high:
        raise ValueError(f"range {text!r}: the start must not be over the end")
    return Threshold(low, high, inside)


def _host_port(obj: Any) -> HostPort:
    if not isinstance(obj, str):
        raise ValueError(f"expected host:port such as db.internal:5432, got {obj!r}")
    split_host_port(obj)
    return HostPort(obj)


def _path(obj: Any) -> Path:
    if isinstance(obj, str) and obj:
        return Path(obj)
    raise ValueError(f"expected a file path, got {obj!r}")


_DECODERS: dict[type, Any] = {
    Duration: _duration,
    Percent: _percent,
    HostPort: _host_port,
    Path: _path,
    AlertSeverity: _alert_severity,
    Threshold: _threshold,
}


def decode_hook(kind: type, obj: Any) -> Any:
    """msgspec's hook for the types above."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise NotImplementedError(kind)
    return decoder(obj)


def split_host_port(value: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) into its parts; ``default_port`` when none is given.

    The one parser for addresses in config and on the command line: an IPv6 address needs
    brackets (``::1:9184`` is ambiguous), and a port is 1 to 65535.
    """
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and (host.startswith("[") or ":" not in host):
        if not host.strip("[]"):
            raise ValueError(f"expected host:port with a host, got {value!r}")
        if not 0 < int(port) < 65536:
            raise ValueError(f"port {port} is out of range (1 to 65535) in {value!r}")
        return host.strip("[]"), int(port)
    if ":" in value and not value.startswith("["):
        raise ValueError(
            f"expected host:port such as 127.0.0.1:9184 (an IPv6 address in brackets: "
            f"[::1]:9184), got {value!r}"
        )
    if default_port is None:
        raise ValueError(f"expected host:port such as 127.0.0.1:9184, got {value!r}")
    return value.strip("[]"), default_port
