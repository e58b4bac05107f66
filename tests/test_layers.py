"""The shape of the house: every import runs downhill, and docs/development.md says so too.

Each line of LAYERS is one layer, lowest first; a module may import its own package and any
package on a lower line, never one on its own line or above. Imports inside functions count:
a lazy import (kept lazy for start-up time) is still a dependency.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "opsbook"

# Lowest first. "opsbook" is the package's own __init__ (the version).
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "opsbook",
        "errors",
        "status",
        "units",
        "timefmt",
        "secrets",
        "results",
        "nagios",
        "aio",
        "progress",
        "stats",
        "identity",
    ),
    ("store",),
    ("logs",),
    ("config",),
    ("clients",),
    ("incidents", "postgres", "backups", "cluster", "jobs", "playbook", "accounts"),
    ("checks",),
    ("alerts", "paging", "routines"),
    ("daemon",),
    ("output", "setup"),
    ("web", "cli", "__main__"),
)


def _rank() -> dict[str, int]:
    return {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "opsbook"


def imports(path: Path, *, typing_too: bool = True) -> set[str]:
    """The opsbook modules a file imports (resolved, relative imports included); without
    ``typing_too``, leaving out those under ``if TYPE_CHECKING:`` (they never run)."""
    module = _module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    skipped: set[int] = set()
    if not typing_too:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
                skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            if name.split(".")[0] != "opsbook":
                continue
            # `from opsbook.x import y` names the module x.y when there is one
            submodules = {f"{name}.{a.name}" for a in node.names if _exists(f"{name}.{a.name}")}
            found |= submodules
            if len(submodules) < len(node.names):
                found.add(name)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "opsbook")
    return found


def _exists(module: str) -> bool:
    path = SRC.parent / module.replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def test_every_package_has_a_layer() -> None:
    rank = _rank()
    packages = {_package(_module_name(p)) for p in SRC.rglob("*.py")}
    assert packages <= set(rank), f"packages without a layer: {sorted(packages - set(rank))}"


def test_imports_run_downhill() -> None:
    rank = _rank()
    uphill = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        mine = _package(module)
        for target in sorted(imports(path)):
            theirs = _package(target)
            if theirs == mine:
                continue
            if rank[theirs] > rank[mine]:
                uphill.append(f"{module} imports {target} ({mine} may not import {theirs})")
    assert not uphill, "imports that run uphill:\n" + "\n".join(uphill)


def test_packages_of_one_layer_do_not_import_in_a_circle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        mine = _package(_module_name(path))
        graph[mine] |= {_package(t) for t in imports(path)} - {mine}
    assert not _cycles(graph), f"packages importing each other: {_cycles(graph)}"


def test_no_import_cycles_between_modules() -> None:
    """Lazy imports included: a cycle that works only by the order of statements is a trap.
    A package's __init__ registering its own submodules (the CLI's commands) is not one, nor
    is an import for type annotations only (``if TYPE_CHECKING:`` never runs)."""
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    for name, path in modules.items():
        own = (name + ".") if path.name == "__init__.py" else None
        graph[name] = {
            t
            for t in imports(path, typing_too=False)
            if t in modules and not (own and t.startswith(own))
        } - {name}
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_faces_write_no_sql() -> None:
    """The CLI, the HTTP handlers and the renderers call domain functions for the store."""
    faces = ("cli", "web", "output", "setup")
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        if _package(module) not in faces:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {a.name for a in node.names}
                if node.module.startswith(("opsbook.store.tables", "opsbook.store.tx")) or (
                    node.module == "sqlalchemy" and names & {"select", "insert", "update", "delete"}
                ):
                    found.append(f"{module}: from {node.module} import {', '.join(sorted(names))}")
    assert not found, "SQL in a face:\n" + "\n".join(found)


def test_development_docs_draw_the_same_layers() -> None:
    text = (ROOT / "docs" / "development.md").read_text()
    block = re.search(r"<!-- layers -->\n```\n(.*?)```", text, re.S)
    assert block, "docs/development.md lost its layers block"
    drawn = [
        tuple(line.split("|")[1].split()) for line in block.group(1).splitlines() if "|" in line
    ]
    assert tuple(reversed(drawn)) == LAYERS, (
        "docs/development.md's layers differ from tests/test_layers.py"
    )
