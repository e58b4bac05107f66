"""Finding, reading and validating opsbook.yaml, once, at the edge.

Where: ``--config FILE``, else ``$OPSBOOK_CONFIG``, else ``./opsbook.yaml``; with none of
them, the embedded defaults (see ``defaults.py``). Every problem becomes a ConfigError
whose lines read ``file:line: key.path: what was expected``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsbook.config.actions import ActionConfig
from opsbook.config.checks import CheckBase, HttpCheck
from opsbook.config.defaults import default_config_data
from opsbook.config.jobs import JobBase
from opsbook.config.model import Config, validate
from opsbook.errors import ConfigError
from opsbook.secrets import Redactor, secrets_in

if TYPE_CHECKING:  # PyYAML (~10 ms to import) only when a file is read: not for the defaults
    from opsbook.config.yamlfile import LinedDocument

CONFIG_ENV = "OPSBOOK_CONFIG"
DEFAULT_NAME = "opsbook.yaml"
MAX_REPORTED_ERRORS = 10
SECRET_HEADER_WORDS = ("auth", "token", "key", "secret", "cookie", "password", "session")


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    source: str  # the file read, or "embedded defaults"
    path: Path | None
    redactor: Redactor
    notes: tuple[str, ...] = ()  # what the embedded defaults used, for the user


def find_config(explicit: str | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    """The file to read, or None to use the embedded defaults."""
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    candidate = cwd / DEFAULT_NAME
    return candidate if candidate.exists() else None


def load_config(
    explicit: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> LoadedConfig:
    env = os.environ if env is None else env
    path = find_config(explicit, env, cwd or Path.cwd())
    if path is None:
        data, notes = default_config_data(env)
        config = _validate(data, None)
        return LoadedConfig(config, "embedded defaults", None, redactor_for(config), notes)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        origin = "--config" if explicit else f"${CONFIG_ENV}"
        raise ConfigError(f"{path}: no such file (given by {origin})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_config(text, str(path), env=env, path=path)


def parse_config(
    text: str, filename: str, *, env: Mapping[str, str], path: Path | None = None
) -> LoadedConfig:
    from opsbook.config.yamlfile import LinedDocument

    doc = LinedDocument(filename, text, env)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{filename}:1: expected a mapping of keys (service:, checks:, …)")
    config = _validate(doc.data, doc)
    return LoadedConfig(config, filename, path, redactor_for(config))


def _validate(data: dict[str, Any], doc: LinedDocument | None) -> Config:
    config, problems = validate(data)
    if config is not None:
        return config
    from opsbook.config.yamlfile import dotted

    redact = Redactor(_all_secrets(data))
    found: list[tuple[int, str]] = []
    for problem in problems[:MAX_REPORTED_ERRORS]:
        where = doc.where(problem.path) if doc else "embedded defaults"
        line = doc.line_of(problem.path) if doc else 0
        found.append((line, redact(f"{where}: {dotted(problem.path)}: {problem.message}")))
    lines = [text for _, text in sorted(found, key=lambda item: item[0])]
    if len(problems) > MAX_REPORTED_ERRORS:
        lines.append(f"… and {len(problems) - MAX_REPORTED_ERRORS} more problems")
    raise ConfigError(lines[0], lines=tuple(lines))


def _all_secrets(data: Any) -> Iterable[str]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _all_secrets(value)
    elif isinstance(data, list):
        for value in data:
            yield from _all_secrets(value)
    elif isinstance(data, str) and ("://" in data or "password" in data):
        yield from secrets_in(data)


def redactor_for(config: Config) -> Redactor:
    """Every secret value the config holds: URL/DSN passwords and credential-like headers."""
    found: list[str] = []
    for check in config.checks.values():
        found.extend(_check_secrets(check))
    if config.intake.token:
        found.append(config.intake.token)
    if config.store:
        found.extend(secrets_in(config.store))
    for job in config.jobs.values():
        found.extend(_job_secrets(job))
    for action in config.actions.values():
        found.extend(_job_secrets(action))
    return Redactor(found)


def _job_secrets(job: JobBase | ActionConfig) -> Iterable[str]:
    """A command's secret-named environment and any password in its argv or target DSN."""
    for name, value in getattr(job, "env", {}).items():
        if is_secret_header(name):
            yield value
        yield from secrets_in(value)
    command = getattr(job, "command", ())
    for part in [command] if isinstance(command, str) else command:
        yield from secrets_in(part)
    target = getattr(job, "target", None)
    if isinstance(target, str):
        yield from secrets_in(target)


def is_secret_header(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_HEADER_WORDS)


def _check_secrets(check: CheckBase) -> Iterable[str]:
    for field in ("dsn", "url"):
        value = getattr(check, field, None)
        if isinstance(value, str):
            yield from secrets_in(value)
    if isinstance(check, HttpCheck):
        for name, value in check.headers.items():
            if is_secret_header(name):
                yield value
                # "Bearer abc" leaks as "abc" too.
                yield from value.split()[1:]
