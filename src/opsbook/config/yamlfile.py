"""Reading YAML while remembering where every key came from, and ``${VAR}`` interpolation.

The document is composed once into nodes (which carry line numbers) and turned into plain
Python data here, so validation errors can name ``file:line``. Environment variables are
substituted in string values only: ``${VAR}``, ``${VAR:-default}`` (unset or empty) and
``${VAR-default}`` (unset); ``$${`` writes a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from opsbook.errors import ConfigError

Path_ = tuple[str | int, ...]

MAX_BYTES = 1 << 20  # an opsbook.yaml is a few kB; a megabyte is a mistake or an attack
MAX_VALUES = 100_000  # values after aliases are expanded (a "billion laughs" stops here)
MAX_DEPTH = 64
_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


class LinedDocument:
    """Plain data from a YAML document plus the line (1-based) of every key path."""

    def __init__(self, filename: str, text: str, env: Mapping[str, str]) -> None:
        self.filename = filename
        self.env = env
        self.lines: dict[Path_, int] = {}
        self._constructor = SafeConstructor()
        self._budget = MAX_VALUES
        self._open: set[int] = set()  # collections being converted: an alias back is a loop
        if len(text) > MAX_BYTES:
            raise ConfigError(
                f"{filename}: {len(text)} characters; expected at most {MAX_BYTES} "
                "(is this the right file?)"
            )
        try:
            node = yaml.compose(text, Loader=_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            problem = exc.problem or exc.context or "invalid YAML"
            raise ConfigError(f"{filename}:{line}: YAML syntax error: {problem}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{filename}: YAML syntax error: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{filename}: nested too deeply to be a configuration") from None
        self.data: Any = {} if node is None else self._convert(node, ())

    def line_of(self, path: Path_) -> int:
        """The line of ``path``, or of its nearest ancestor the file has (1 if none)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1

    def where(self, path: Path_) -> str:
        return f"{self.filename}:{self.line_of(path)}"

    def _convert(self, node: yaml.Node, path: Path_) -> Any:
        self._budget -= 1
        line = node.start_mark.line + 1
        if self._budget < 0:
            raise ConfigError(
                f"{self.filename}:{line}: the document expands to more than {MAX_VALUES} values "
                "(YAML aliases repeating each other?); write it out, or use fewer aliases"
            )
        if len(path) > MAX_DEPTH:
            raise ConfigError(f"{self.filename}:{line}: {dotted(path)}: nested too deeply")
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in self._open:
                raise ConfigError(
                    f"{self.filename}:{line}: {dotted(path)}: an alias refers to a node that "
                    "contains it (an endless loop)"
                )
            self._open.add(id(node))
            try:
                return self._collection(node, path)
            finally:
                self._open.discard(id(node))
        try:
            value = self._constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            raise ConfigError(f"{self.filename}:{line}: {dotted(path)}: {exc.problem}") from None
        if isinstance(value, str):
            value = self._interpolate(value, path, line)
        return value

    def _collection(self, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        items = []
        for index, child in enumerate(node.value):
            self.lines[(*path, index)] = child.start_mark.line + 1
            items.append(self._convert(child, (*path, index)))
        return items

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        try:
            self._constructor.flatten_mapping(node)  # resolves "<<: *anchor" merge keys
        except ConstructorError as exc:
            line = node.start_mark.line + 1
            raise ConfigError(f"{self.filename}:{line}: {dotted(path)}: {exc.problem}") from None
        except RecursionError:  # a merge key that merges itself
            line = node.start_mark.line + 1
            raise ConfigError(
                f"{self.filename}:{line}: {dotted(path)}: a merge key (<<) refers to itself"
            ) from None
        out: dict[str, Any] = {}
        own: set[str] = set()
        merged = _merged_count(node)
        for position, (key_node, value_node) in enumerate(node.value):
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(
                    f"{self.filename}:{line}: {dotted(path)}: keys must be plain names"
                )
            key = str(key_node.value)
            # Merged keys come first and may be overridden; a key written twice is a mistake.
            if position >= merged and key in own:
                first = self.lines.get((*path, key), line)
                raise ConfigError(
                    f"{self.filename}:{line}: {dotted((*path, key))}: key given twice "
                    f"(first at line {first}); remove one"
                )
            if position >= merged:
                own.add(key)
            self.lines[(*path, key)] = line
            out[key] = self._convert(value_node, (*path, key))
        return out

    def _interpolate(self, text: str, path: Path_, line: int) -> str:
        if "$" not in text:
            return text

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, op, default = match.group(1), match.group(2), match.group(3)
            value = self.env.get(name)
            if op == ":-" and not value:
                return default or ""
            if op == "-" and value is None:
                return default or ""
            if value is None:
                raise ConfigError(
                    f"{self.filename}:{line}: {dotted(path)}: environment variable {name} is not "
                    f"set (export it, or write ${{{name}:-default}} to give a default)"
                )
            return value

        return _VAR.sub(replace, text)


def _merged_count(node: yaml.MappingNode) -> int:
    """How many leading pairs flatten_mapping put in front from ``<<`` merges."""
    count = 0
    # Merged pairs keep the marks of the anchor they came from, which precede the mapping.
    for key_node, _ in node.value:
        if key_node.start_mark.line < node.start_mark.line:
            count += 1
        else:
            break
    return count
