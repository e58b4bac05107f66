"""Turning msgspec's validation messages into opsbook's: ``key.path: what was expected``."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import msgspec

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (a key path) and what was expected."""

    path: Path_
    message: str


def convert_section(
    value: Any, model: type[msgspec.Struct], path: Path_, problems: list[Problem]
) -> Any:
    """Validate one section (a mapping) into ``model``; record a problem and return None."""
    from opsbook.config.types import decode_hook

    try:
        return msgspec.convert(value if value is not None else {}, model, dec_hook=decode_hook)
    except msgspec.ValidationError as exc:
        problems.append(translate(str(exc), value if isinstance(value, dict) else {}, path, model))
        return None


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


def translate(text: str, spec: dict[str, Any], base: Path_, model: type[msgspec.Struct]) -> Problem:
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
        return Problem((*path, key), unknown_key(key, _field_names(model)))
    if missing := re.match(r"Object missing required field `(.+)`", message):
        return Problem(path, f"required key '{missing.group(1)}' is missing")
    if expected := re.match(r"Expected `(.+?)`, got `(.+?)`", message):
        wanted = " or ".join(_TYPE_WORDS.get(t.strip(), t) for t in expected.group(1).split("|"))
        return Problem(path, f"expected {wanted}, got {short(_value_at(spec, path[len(base) :]))}")
    if re.match(r"Invalid enum value", message):
        field_type = _field_choices(model, path[len(base)] if len(path) > len(base) else "")
        got = short(_value_at(spec, path[len(base) :]))
        return Problem(path, f"expected one of: {field_type}, got {got}")
    if "length >=" in message:
        return Problem(path, message[0].lower() + message[1:].replace("`array`", "a list"))
    # Our own checks (decode hooks, __post_init__) name the key first: "url: expected …".
    own = re.match(r"^([a-z_]+): (.*)$", message, re.DOTALL)
    if own and own.group(1) in _field_names(model) and len(path) == len(base):
        return Problem((*path, own.group(1)), own.group(2))
    return Problem(path, message[0].lower() + message[1:] if message else "invalid value")


def _field_names(model: type[msgspec.Struct]) -> list[str]:
    tagged = model.__struct_config__.tag_field is not None
    return (["type"] if tagged else []) + [f.encode_name for f in msgspec.structs.fields(model)]


def _field_choices(model: type[msgspec.Struct], name: object) -> str:
    for info in msgspec.structs.fields(model):
        if info.encode_name == name:
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


def short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def unknown_key(key: str, allowed: tuple[str, ...] | list[str]) -> str:
    hint = difflib.get_close_matches(key, allowed, n=1)
    suggestion = f"did you mean {hint[0]!r}? " if hint else ""
    return f"unknown key {key!r}; {suggestion}expected one of: {', '.join(sorted(allowed))}"
