"""The whole opsbook.yaml, validated section by section.

msgspec reports a dict's keys as ``[...]`` in error paths, so sections holding named items
(``checks``) are walked here and each item validated on its own: every error then names its
exact key path, and one bad check does not hide the problems of the others.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from opsbook.config.checks import CHECK_MODELS, CheckBase, CheckConfig, CheckKind
from opsbook.config.severities import SEVERITY_KEYS, SeverityConfig
from opsbook.config.types import decode_hook, is_check_name

Path_ = tuple[str | int, ...]
TOP_LEVEL_KEYS = ("service", "timezone", "store", "severities", "checks")
STORE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")


@dataclass(frozen=True)
class Config:
    service: str = "service"
    timezone: str | None = None  # IANA name for human output; None: this machine's zone
    store: str | None = None  # database URL; None: SQLite in the data directory
    severities: dict[int, SeverityConfig] = field(default_factory=dict)  # overrides, by level
    checks: dict[str, CheckBase] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (a key path) and what was expected."""

    path: Path_
    message: str


def validate(data: dict[str, Any]) -> tuple[Config | None, list[Problem]]:
    problems: list[Problem] = []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.append(Problem((key,), _unknown_key(key, TOP_LEVEL_KEYS)))
    service = data.get("service", "service")
    if not isinstance(service, str | int) or isinstance(service, bool) or service == "":
        problems.append(Problem(("service",), f"expected a name, got {service!r}"))
    raw_checks = data.get("checks")
    raw_checks = {} if raw_checks is None else raw_checks  # "checks:" with nothing under it
    checks: dict[str, CheckBase] = {}
    if not isinstance(raw_checks, dict):
        problems.append(Problem(("checks",), "expected a mapping of check names to checks"))
        raw_checks = {}
    for name, spec in raw_checks.items():
        path: Path_ = ("checks", name)
        if not is_check_name(str(name)):
            problems.append(
                Problem(
                    path,
                    "check names use letters, digits, '_', '.', '-' and start with a letter "
                    "or digit",
                )
            )
            continue
        check, problem = _check(spec, path)
        if problem:
            problems.append(problem)
        elif check is not None:
            checks[str(name)] = check
    timezone = _timezone(data.get("timezone"), problems)
    store = data.get("store")
    if store is not None and not (isinstance(store, str) and store.startswith(STORE_SCHEMES)):
        problems.append(
            Problem(
                ("store",),
                "expected a database URL: sqlite:////path/to/opsbook.db or "
                f"postgresql://user:password@host/db, got {_short(store)}",
            )
        )
    severities = _severities(data.get("severities"), problems)
    if problems:
        return None, problems
    return Config(
        service=str(service),
        timezone=timezone,
        store=store,
        severities=severities,
        checks=checks,
    ), []


def _timezone(value: Any, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(
            Problem(
                ("timezone",),
                f"unknown time zone {value!r}; expected a name such as "
                "Europe/Paris, America/New_York or UTC",
            )
        )
        return None
    return str(value)


def _severities(value: Any, problems: list[Problem]) -> dict[int, SeverityConfig]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(Problem(("severities",), "expected a mapping of SEV-1 … SEV-4"))
        return {}
    out: dict[int, SeverityConfig] = {}
    for key, spec in value.items():
        path: Path_ = ("severities", key)
        level = SEVERITY_KEYS.get(str(key).upper())
        if level is None:
            problems.append(
                Problem(path, f"unknown severity {key!r}; expected SEV-1, SEV-2, SEV-3 or SEV-4")
            )
            continue
        try:
            out[level] = msgspec.convert(spec or {}, SeverityConfig, dec_hook=decode_hook)
        except msgspec.ValidationError as exc:
            problems.append(_translate(str(exc), spec, path, SeverityConfig))
    return out


def _check(spec: Any, path: Path_) -> tuple[CheckBase | None, Problem | None]:
    if not isinstance(spec, dict):
        return None, Problem(path, f"expected a mapping with a type: key, got {spec!r}")
    kinds = ", ".join(k.value for k in CheckKind)
    kind = spec.get("type")
    if kind is None:
        return None, Problem(path, f"missing 'type:'; expected one of: {kinds}")
    if kind not in {k.value for k in CheckKind}:
        return None, Problem(path, f"unknown check type {kind!r}; expected one of: {kinds}")
    try:
        check = msgspec.convert(spec, CheckConfig, dec_hook=decode_hook)
    except msgspec.ValidationError as exc:
        return None, _translate(str(exc), spec, path, CHECK_MODELS[CheckKind(kind)])
    return check, None


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_SEGMENT = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[\.\.\.\]")
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "array": "a list (such as [a, b])",
    "object": "a mapping (key: value)",
    "null": "nothing",
}


def _translate(
    text: str, spec: dict[str, Any], base: Path_, model: type[msgspec.Struct]
) -> Problem:
    """msgspec's message into ``key.path: what was expected`` in opsbook's words."""
    match = _AT.match(text)
    assert match is not None
    message, sub = match.group("msg"), match.group("path") or ""
    path: Path_ = base + tuple(
        m.group(1) if m.group(1) else int(m.group(2))
        for m in _SEGMENT.finditer(sub)
        if m.group(0) != "[...]"
    )
    if unknown := re.match(r"Object contains unknown field `(.+)`", message):
        key = unknown.group(1)
        return Problem((*path, key), _unknown_key(key, _field_names(model)))
    if missing := re.match(r"Object missing required field `(.+)`", message):
        return Problem(path, f"required key '{missing.group(1)}' is missing")
    if expected := re.match(r"Expected `(.+?)`, got `(.+?)`", message):
        wanted = " or ".join(_TYPE_WORDS.get(t.strip(), t) for t in expected.group(1).split("|"))
        return Problem(path, f"expected {wanted}, got {_short(_value_at(spec, path[len(base) :]))}")
    if re.match(r"Invalid enum value", message):
        field_type = _field_choices(model, path[len(base)] if len(path) > len(base) else "")
        got = _short(_value_at(spec, path[len(base) :]))
        return Problem(path, f"expected one of: {field_type}, got {got}")
    if "length >=" in message:
        return Problem(path, message[0].lower() + message[1:].replace("`array`", "a list"))
    # Our own checks (decode hooks, __post_init__) name the key first: "url: expected …".
    own = re.match(r"^([a-z_]+): (.*)$", message, re.DOTALL)
    if own and own.group(1) in model.__struct_fields__ and len(path) == len(base):
        return Problem((*path, own.group(1)), own.group(2))
    return Problem(path, message[0].lower() + message[1:] if message else "invalid value")


def _field_names(model: type[msgspec.Struct]) -> list[str]:
    tagged = model.__struct_config__.tag_field is not None
    return (["type"] if tagged else []) + list(model.__struct_fields__)


def _field_choices(model: type[msgspec.Struct], name: object) -> str:
    for info in msgspec.structs.fields(model):
        if info.name == name:
            args = getattr(info.type, "__args__", None)
            if args:
                return ", ".join(str(a) for a in args)
            members = getattr(info.type, "__members__", None)
            if members:
                return ", ".join(m.value for m in members.values())
    return "the documented values"


def _value_at(spec: Any, path: Path_) -> Any:
    node = spec
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _unknown_key(key: str, allowed: tuple[str, ...] | list[str]) -> str:
    hint = difflib.get_close_matches(key, allowed, n=1)
    suggestion = f"did you mean {hint[0]!r}? " if hint else ""
    return f"unknown key {key!r}; {suggestion}expected one of: {', '.join(sorted(allowed))}"
