"""Value types of opsbook.yaml that YAML has no word for: durations, percentages, addresses.

Each is a subclass of float/str so the rest of opsbook uses them as plain numbers and strings;
``decode_hook`` turns the file's spelling (``5s``, ``90%``, ``db:5432``) into them while the
config is validated.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opsbook.units import DURATION_HINT, PERCENT_HINT, parse_duration, parse_percent


class Duration(float):
    """Seconds. Written ``500ms``, ``5s``, ``2m``, ``1h``, ``30d``; a bare number is refused."""


class Percent(float):
    """0..100. Written ``90%``; a bare number from 0 to 100 is read as a percentage."""


class HostPort(str):
    """``host:port``."""

    __slots__ = ()


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


def _host_port(obj: Any) -> HostPort:
    if isinstance(obj, str):
        host, _, port = obj.rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return HostPort(obj)
    raise ValueError(f"expected host:port such as db.internal:5432, got {obj!r}")


def _path(obj: Any) -> Path:
    if isinstance(obj, str) and obj:
        return Path(obj)
    raise ValueError(f"expected a file path, got {obj!r}")


_DECODERS = {Duration: _duration, Percent: _percent, HostPort: _host_port, Path: _path}


def decode_hook(kind: type, obj: Any) -> Any:
    """msgspec's hook for the types above."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise NotImplementedError(kind)
    return decoder(obj)


def split_host_port(value: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) into its parts; ``default_port`` when none is given."""
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and (host.startswith("[") or ":" not in host):
        return host.strip("[]"), int(port)
    if default_port is None:
        raise ValueError(f"expected host:port, got {value!r}")
    return value.strip("[]"), default_port
