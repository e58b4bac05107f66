"""The configuration as opsbook understood it: defaults filled in, secrets masked,
durations and percentages written back the way the file spells them."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import msgspec

from opsbook.config.checks import CheckBase
from opsbook.config.loader import LoadedConfig, is_secret_header
from opsbook.config.types import AlertSeverity, Duration, Percent, Threshold
from opsbook.secrets import MASK, mask_dsn, mask_url
from opsbook.units import format_config_duration


def understood(loaded: LoadedConfig) -> dict[str, Any]:
    config = loaded.config
    return {
        "source": loaded.source,
        "service": config.service,
        "checks": {name: _check(check) for name, check in config.checks.items()},
    }


WATCHED_KINDS = ("redis", "postgres", "tcp")  # the kinds watch: applies to


def _check(check: CheckBase) -> dict[str, Any]:
    import msgspec

    out: dict[str, Any] = {"type": check.kind.value}
    for info in msgspec.structs.fields(check):
        if info.name == "watch" and check.kind.value not in WATCHED_KINDS:
            continue  # meaningless for this kind: showing it would suggest otherwise
        out[info.encode_name] = _value(info.name, getattr(check, info.name))
    if check.for_ is None:
        out["for"] = format_config_duration(check.pending_for)  # the kind's default
    return out


def _value(name: str, value: Any) -> Any:
    if isinstance(value, AlertSeverity):
        return {"critical": f"SEV-{value.critical}", "warning": f"SEV-{value.warning}"}
    if isinstance(value, Duration):
        return format_config_duration(value)
    if isinstance(value, Percent):
        return f"{value:g}%"
    if name == "dsn":
        return mask_dsn(value)
    if name == "url":
        return mask_url(value)
    if name == "headers":
        return {k: MASK if is_secret_header(k) else v for k, v in value.items()}
    if isinstance(value, Threshold):  # as it could be written back
        r = value.range
        if r.inside:
            return r.text()
        return {k: v for k, v in (("below", r.low), ("above", r.high)) if v is not None}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_value(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(str(k), v) for k, v in value.items()}
    if isinstance(value, msgspec.Struct):  # a prometheus signal, a restriction…
        return {f.encode_name: _value(f.name, getattr(value, f.name))
                for f in msgspec.structs.fields(value)}  # fmt: skip
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):  # HostPort and other str subclasses: plain text for YAML
        return str(value)
    if isinstance(value, float):
        return float(value)
    return value
