"""The configuration as opsbook understood it: defaults filled in, secrets masked,
durations and percentages written back the way the file spells them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from opsbook.config import types
from opsbook.config.loader import LoadedConfig
from opsbook.secrets import MASK, mask_dsn, mask_url
from opsbook.units import format_config_duration

_SECRET_HEADER_WORDS = ("auth", "token", "key", "secret", "cookie", "password", "session")


def understood(loaded: LoadedConfig) -> dict[str, Any]:
    config = loaded.config
    return {
        "source": loaded.source,
        "service": config.service,
        "checks": {name: _model(check) for name, check in config.checks.items()},
    }


def _model(model: BaseModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        funcs = {getattr(m, "func", None) for m in field.metadata}
        if value is None:
            out[name] = None
        elif types._duration in funcs:
            out[name] = format_config_duration(value)
        elif types._percent in funcs:
            out[name] = f"{value:g}%"
        elif name == "dsn":
            out[name] = mask_dsn(value)
        elif name == "url":
            out[name] = mask_url(value)
        elif name == "headers":
            out[name] = {
                k: MASK if any(w in k.lower() for w in _SECRET_HEADER_WORDS) else v
                for k, v in value.items()
            }
        elif isinstance(value, tuple):
            out[name] = list(value)
        elif hasattr(value, "value"):  # enums
            out[name] = value.value
        elif isinstance(value, int | float | bool | str | dict | list):
            out[name] = value
        else:
            out[name] = str(value)
    return out
