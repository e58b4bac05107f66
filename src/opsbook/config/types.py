"""Annotated field types for opsbook.yaml: durations, percentages, addresses."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from opsbook.units import DURATION_HINT, PERCENT_HINT, parse_duration, parse_percent


def _duration(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HINT}, got {value!r}")
    if isinstance(value, int | float):
        raise ValueError(
            f"expected {DURATION_HINT}, got {value!r} (a bare number has no unit; write {value}s)"
        )
    if isinstance(value, str):
        return parse_duration(value)
    return value


def _percent(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected {PERCENT_HINT}, got {value!r}")
    if isinstance(value, str):
        return parse_percent(value)
    if isinstance(value, int | float) and not 0 <= value <= 100:
        raise ValueError(f"expected a percentage between 0% and 100%, got {value!r}")
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("expected a duration greater than zero")
    return value


def _host_port(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port such as db.internal:5432, got {value!r}")
    return value


# Seconds; written as 5s, 2m, 30d in the file.
Duration = Annotated[float, BeforeValidator(_duration)]
PositiveDuration = Annotated[float, BeforeValidator(_duration), AfterValidator(_positive)]
# 0..100; written as 90% (a bare number is read as a percentage too).
Percent = Annotated[float, BeforeValidator(_percent)]
HostPort = Annotated[str, AfterValidator(_host_port)]
CheckName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]


def split_host_port(value: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) into its parts; ``default_port`` when none is given."""
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and (host.startswith("[") or ":" not in host):
        return host.strip("[]"), int(port)
    if default_port is None:
        raise ValueError(f"expected host:port, got {value!r}")
    return value.strip("[]"), default_port
