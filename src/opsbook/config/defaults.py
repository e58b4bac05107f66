"""The configuration opsbook uses when there is no opsbook.yaml at all.

This host's disk, memory and load, plus the runbook's stack where the environment names
it: ``$DATABASE_URL`` (postgres), ``$REDIS_URL`` (redis), ``$OPSBOOK_HEALTH_URL`` (http).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from opsbook.secrets import mask_dsn, mask_url

ENV_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    # (environment variable, check name, type, key)
    ("OPSBOOK_HEALTH_URL", "app", "http", "url"),
    ("DATABASE_URL", "db", "postgres", "dsn"),
    ("REDIS_URL", "cache", "redis", "url"),
)


def default_config_data(env: Mapping[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Plain config data and one note per default used, for the user to read."""
    checks: dict[str, Any] = {}
    notes: list[str] = []
    for var, name, kind, key in ENV_CHECKS:
        value = env.get(var)
        if value:
            checks[name] = {"type": kind, key: value}
            notes.append(f"{name} ({kind}) from ${var} = {mask_dsn(mask_url(value))}")
    checks["disk"] = {"type": "disk", "path": "/"}
    checks["memory"] = {"type": "memory"}
    checks["load"] = {"type": "load"}
    notes.insert(0, "this host's disk /, memory and load")
    unset = [var for var, *_ in ENV_CHECKS if not env.get(var)]
    if unset:
        notes.append("set " + ", ".join(f"${v}" for v in unset) + " to check those too")
    return {"service": socket.gethostname(), "checks": checks}, tuple(notes)
