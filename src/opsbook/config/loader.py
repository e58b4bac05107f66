"""Finding, reading and validating opsbook.yaml, once, at the edge.

Where: ``--config FILE``, else ``$OPSBOOK_CONFIG``, else ``./opsbook.yaml``; with none of
them, the embedded defaults (see ``defaults.py``). Every problem becomes a ConfigError
whose lines read ``file:line: key.path: what was expected``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from opsbook.config.checks import CHECK_MODELS, CheckBase, CheckKind, HttpCheck
from opsbook.config.defaults import default_config_data
from opsbook.config.model import Config
from opsbook.config.yamlfile import LinedDocument, Path_, dotted
from opsbook.errors import ConfigError
from opsbook.secrets import Redactor, mask_dsn, secrets_in

CONFIG_ENV = "OPSBOOK_CONFIG"
DEFAULT_NAME = "opsbook.yaml"
MAX_REPORTED_ERRORS = 10
_SECRET_HEADER_WORDS = ("auth", "token", "key", "secret", "cookie", "password", "session")


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
    doc = LinedDocument(filename, text, env)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{filename}:1: expected a mapping of keys (service:, checks:, …)")
    config = _validate(doc.data, doc)
    return LoadedConfig(config, filename, path, redactor_for(config))


def _validate(data: dict[str, Any], doc: LinedDocument | None) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        redact = Redactor(_all_secrets(data))
        found: list[tuple[int, str]] = []
        for error in exc.errors()[:MAX_REPORTED_ERRORS]:
            path = _clean_loc(error["loc"])
            where = doc.where(path) if doc else "embedded defaults"
            line = doc.line_of(path) if doc else 0
            found.append((line, redact(f"{where}: {dotted(path)}: {_explain(error, path, data)}")))
        lines = [text for _, text in sorted(found, key=lambda item: item[0])]
        if len(exc.errors()) > MAX_REPORTED_ERRORS:
            lines.append(f"… and {len(exc.errors()) - MAX_REPORTED_ERRORS} more problems")
        raise ConfigError(lines[0], lines=tuple(lines)) from None


def _clean_loc(loc: tuple[int | str, ...]) -> Path_:
    """Drop pydantic's union-tag element: ("checks", "db", "postgres", "dsn") → checks.db.dsn."""
    parts = list(loc)
    kinds = {k.value for k in CheckKind}
    if len(parts) >= 3 and parts[0] == "checks" and parts[2] in kinds:
        del parts[2]
    return tuple(p for p in parts if p != "[key]")


def _explain(error: Any, path: Path_, data: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "union_tag_invalid":
        return f"unknown check type {ctx.get('tag')!r}; expected one of: " + ", ".join(
            k.value for k in CheckKind
        )
    if kind == "union_tag_not_found":
        return "missing 'type:'; expected one of: " + ", ".join(k.value for k in CheckKind)
    if kind == "extra_forbidden":
        key = str(path[-1])
        allowed = _allowed_keys(path, data)
        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        return f"unknown key {key!r}; {suggestion}expected one of: {', '.join(sorted(allowed))}"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch" and path[:1] == ("checks",):
        return "check names use letters, digits, '_', '.', '-' and start with a letter or digit"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind in ("int_parsing", "float_parsing", "bool_parsing", "string_type", "dict_type"):
        return f"{message[0].lower()}{message[1:]} (got {_short(error.get('input'))})"
    return message[0].lower() + message[1:] if message else kind


def _allowed_keys(path: Path_, data: dict[str, Any]) -> list[str]:
    if len(path) == 1:
        return list(Config.model_fields)
    if len(path) == 3 and path[0] == "checks":
        check = data.get("checks", {}).get(path[1], {})
        kind = check.get("type") if isinstance(check, dict) else None
        if isinstance(kind, str) and kind in {k.value for k in CheckKind}:
            model: type[BaseModel] = CHECK_MODELS[CheckKind(kind)]
            return list(model.model_fields)
    return []


def _short(value: object) -> str:
    text = repr(value)
    return mask_dsn(text if len(text) <= 60 else text[:57] + "…")


def _all_secrets(data: Any) -> Iterable[str]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _all_secrets(value)
    elif isinstance(data, list):
        for value in data:
            yield from _all_secrets(value)
    elif (isinstance(data, str) and "://" in data) or (
        isinstance(data, str) and "password" in data
    ):
        yield from secrets_in(data)


def redactor_for(config: Config) -> Redactor:
    """Every secret value the config holds: URL/DSN passwords and credential-like headers."""
    found: list[str] = []
    for check in config.checks.values():
        found.extend(_check_secrets(check))
    return Redactor(found)


def _check_secrets(check: CheckBase) -> Iterable[str]:
    for field in ("dsn", "url"):
        value = getattr(check, field, None)
        if isinstance(value, str):
            yield from secrets_in(value)
    if isinstance(check, HttpCheck):
        for name, value in check.headers.items():
            if any(word in name.lower() for word in _SECRET_HEADER_WORDS):
                yield value
                # "Bearer abc" leaks as "abc" too.
                yield from value.split()[1:]
