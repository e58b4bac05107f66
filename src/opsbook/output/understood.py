"""Everything ``opsbook config validate`` understood, not only the checks: who can be reached
and how, who is on call for the next two weeks, the minute each escalation level is reached
for each severity, channels, intake, server and backups (secrets masked), and the coverage
report. The same document is the JSON output and, as YAML, the text one."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from opsbook.config.loader import LoadedConfig
from opsbook.config.show import understood as checks_understood
from opsbook.config.types import AlertSeverity, Duration, Percent
from opsbook.incidents.severity import SeverityPolicy
from opsbook.output.oncall import coverage_json
from opsbook.paging.coverage import PAGED, Coverage, ladder, reached_after
from opsbook.paging.schedule import layers_of, shifts
from opsbook.paging.targets import reachability
from opsbook.secrets import MASK, mask_dsn, mask_url
from opsbook.timefmt import iso
from opsbook.units import format_config_duration

SHOWN_DAYS = 14
SECRET_KEYS = {"secret", "password", "routing_key", "token", "secret_access_key", "webhook_url"}


def view(loaded: LoadedConfig, now: datetime, coverage: Coverage) -> dict[str, Any]:
    config = loaded.config
    paging = config.paging
    doc = checks_understood(loaded)
    doc["people"] = {name: _person(name, loaded) for name in paging.people}
    doc["schedules"] = _schedules(loaded, now)
    policy = SeverityPolicy.from_config(config.severities)
    levels = ladder(paging)
    doc["escalation"] = {
        f"SEV-{sev}": [
            {"level": i + 1, "name": lvl.name or f"level {i + 1}", "who": list(lvl.who),
             "paged_after": format_config_duration(at)}
            for i, (lvl, at) in enumerate(zip(levels, reached_after(paging, policy, sev),
                                              strict=True))
        ]
        for sev in PAGED
    }  # fmt: skip
    doc["channels"] = {name: _masked(c) for name, c in paging.channels.items()}
    doc["intake"] = _masked(config.intake)
    doc["server"] = _masked(config.server)
    doc["backups"] = _backups(loaded) if config.backups is not None else None
    doc["jobs"] = {name: {"action": job.action_kind.value, **_masked(job)}
                   for name, job in config.jobs.items()}  # fmt: skip
    doc["actions"] = {name: _masked(a) for name, a in config.actions.items()}
    doc["procedures"] = {name: _masked(p) for name, p in config.procedures.items()}
    doc["coverage"] = coverage_json(coverage, paging.settings.strict)
    return doc


def _person(name: str, loaded: LoadedConfig) -> dict[str, Any]:
    person = loaded.config.paging.people[name]
    routes, why = reachability(name, loaded.config.paging)
    return {
        "contacts": {k: v for k, v in _masked(person).items() if v not in (None, [])},
        "reached_through": [r.channel for r in routes],
        "not_reachable": why,
    }


def _schedules(loaded: LoadedConfig, now: datetime) -> dict[str, Any]:
    config = loaded.config
    out: dict[str, Any] = {}
    now = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    for name, schedule in config.paging.schedules.items():
        rows = []
        for layer in layers_of(name, schedule, config.timezone):
            for s in shifts(layer, now, now + timedelta(days=SHOWN_DAYS)):
                rows.append({"layer": s.layer, "person": s.person, "from": iso(s.start),
                             "until": iso(s.end)})  # fmt: skip
        out[name] = rows
    return out


def _backups(loaded: LoadedConfig) -> dict[str, Any]:
    backups = loaded.config.backups
    assert backups is not None
    encryption = backups.encryption
    return {
        "encryption": "none" if encryption is None else (
            "recipients" if encryption.recipients else "passphrase"),
        "repositories": {n: _masked(r) for n, r in backups.repositories.items()},
        "sources": {n: _masked(s) for n, s in backups.sources.items()},
        "settings": _masked(backups.settings),
    }  # fmt: skip


def _plain(value: Any) -> Any:
    """Config types as the file writes them: 5m, 90%, SEV-1, host:port."""
    if isinstance(value, Duration):
        return format_config_duration(value)
    if isinstance(value, Percent):
        return f"{value:g}%"
    if isinstance(value, AlertSeverity):
        return {"critical": f"SEV-{value.critical}", "warning": f"SEV-{value.warning}"}
    if isinstance(value, str | Path):
        return str(value)
    if isinstance(value, float | int):
        return value
    raise NotImplementedError(type(value))


def _masked(struct: Any) -> dict[str, Any]:
    """A config struct as plain data, every secret masked, durations as the file writes them."""
    data = msgspec.to_builtins(struct, enc_hook=_plain)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECRET_KEYS or key.endswith(("_key", "password")):
            out[key] = MASK if value else value
        elif key in ("dsn",) and isinstance(value, str):
            out[key] = mask_dsn(value)
        elif key in ("url", "endpoint") and isinstance(value, str):
            out[key] = mask_url(value)
        else:
            out[key] = value
    return out
