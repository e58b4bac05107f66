"""Turning msgspec's validation messages into opsbook's: ``key.path: what was expected``."""

from __future__ import annotations

import difflib
import re
import types
import typing
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
    segments = [m.group(1) or m.group(2) or "" for m in _SEGMENT.finditer(sub)]
    rel, model, at_struct = _walk(spec, model, segments)
    path: Path_ = base + rel
    if unknown := re.match(r"Object contains unknown field `(.+)`", message):
        key = unknown.group(1)
        return Problem((*path, key), unknown_key(key, _field_names(model)))
    if missing := re.match(r"Object missing required field `(.+)`", message):
        return Problem(path, f"required key '{missing.group(1)}' is missing")
    if expected := re.match(r"Expected `(.+?)`, got `(.+?)`", message):
        wanted = " or ".join(_TYPE_WORDS.get(t.strip(), t) for t in expected.group(1).split("|"))
        return Problem(path, f"expected {wanted}, got {short(_value_at(spec, rel))}")
    if re.match(r"Invalid enum value", message):
        choices = _field_choices(model, rel[-1] if rel else "")
        return Problem(path, f"expected one of: {choices}, got {short(_value_at(spec, rel))}")
    if "length >=" in message:
        return Problem(path, message[0].lower() + message[1:].replace("`array`", "a list"))
    # Our own checks (decode hooks, __post_init__) name the key first: "url: expected …".
    own = re.match(r"^([a-z_]+): (.*)$", message, re.DOTALL)
    if own and at_struct and own.group(1) in _field_names(model):
        return Problem((*path, own.group(1)), own.group(2))
    return Problem(path, message[0].lower() + message[1:] if message else "invalid value")


def _walk(spec: Any, model: type[msgspec.Struct], segments: list[str]) -> tuple[Path_, Any, bool]:
    """Follow msgspec's ``$.signals[...].kind`` through the spec and the model: the key path
    with the mapping key msgspec leaves out (``[...]``) found again, and the innermost struct,
    whose keys are the ones to suggest (a leaf's segment keeps the struct that holds it), and
    whether the path ends on a struct rather than on one of its keys."""
    path: list[str | int] = []
    node: Any = spec
    current: Any = model
    held: Any = model  # the struct the last key belongs to
    for segment in segments:
        if segment == "":  # a mapping's key: the first entry that does not convert is the one
            key = _failing_key(node, _inner(current, segment))
            path.append(key)
            node = node.get(key) if isinstance(node, dict) else None
        elif segment.isdigit():
            path.append(int(segment))
            fits = isinstance(node, list) and int(segment) < len(node)
            node = node[int(segment)] if fits else None
        else:
            path.append(segment)
            node = node.get(segment) if isinstance(node, dict) else None
        current = _inner(current, segment)
        if _is_struct(current):
            held = current
    return tuple(path), held, _is_struct(current)


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _inner(tp: Any, segment: str) -> Any:
    """The type one step below ``tp``: a struct's field, a mapping's value, a list's item."""
    if _is_struct(tp):
        for info in msgspec.structs.fields(tp):
            if info.encode_name == segment:
                return _unwrap(info.type)
        return None
    args = typing.get_args(tp)
    if typing.get_origin(tp) is dict and len(args) == 2:
        return _unwrap(args[1])
    if typing.get_origin(tp) in (tuple, list) and args:
        return _unwrap(args[0])
    return None


def _unwrap(tp: Any) -> Any:
    """``X | None`` and ``Annotated[X, …]`` down to X (the first struct of a union)."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    args = typing.get_args(tp)
    if args and typing.get_origin(tp) in (typing.Union, types.UnionType):
        structs = [a for a in args if _is_struct(a) or typing.get_origin(a) in (dict, tuple, list)]
        return _unwrap(structs[0]) if structs else tp
    return tp


def _failing_key(node: Any, value_type: Any) -> str:
    if not isinstance(node, dict) or not node:
        return "…"
    from opsbook.config.types import decode_hook

    for key, value in node.items():
        if value_type is None:
            break
        try:
            msgspec.convert(value, value_type, dec_hook=decode_hook)
        except (msgspec.ValidationError, TypeError):
            return str(key)
    return str(next(iter(node)))


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


def convert_named(
    value: Any,
    base: Path_,
    models: dict[str, type[msgspec.Struct]] | dict[str, Any],
    problems: list[Problem],
    *,
    tag: str = "type",
    name_ok: Any = None,
) -> dict[str, Any]:
    """A mapping of names to items whose ``tag`` key picks the model (backup repositories and
    sources by ``type:``, jobs by ``action:``): each validated on its own, so one bad item
    neither hides another's problems nor loses its exact key path."""
    from opsbook.config.types import decode_hook

    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(Problem(base, f"expected a mapping of names to {base[-1]}"))
        return {}
    out: dict[str, Any] = {}
    kinds = ", ".join(models)
    for name, spec in value.items():
        path: Path_ = (*base, name)
        if not (name_ok or _NAME.match)(str(name)):
            problems.append(Problem(path, "names use letters, digits, '_', '.', '-'"))
            continue
        kind = spec.get(tag) if isinstance(spec, dict) else None
        model = models.get(str(kind))
        if model is None:
            problems.append(Problem((*path, tag), f"expected one of: {kinds}, got {kind!r}"))
            continue
        try:
            out[str(name)] = msgspec.convert(spec, model, dec_hook=decode_hook)
        except msgspec.ValidationError as exc:
            problems.append(translate(str(exc), spec, path, model))
    return out


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
