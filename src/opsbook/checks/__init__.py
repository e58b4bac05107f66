"""Check kinds: one module per kind, each exposing ``describe(check)`` and ``run(check, probe)``.

Modules are imported only when a configured check needs them, so ``opsbook check`` on a
host with only disk and memory checks never pays for a database driver.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

from opsbook.checks.base import Probe, Reading
from opsbook.config.checks import CheckBase, CheckKind


class CheckModule(Protocol):
    def describe(self, check: Any) -> str: ...

    def run(self, check: Any, probe: Probe) -> Awaitable[Reading]: ...


def module_for(kind: CheckKind) -> CheckModule:
    return cast(CheckModule, importlib.import_module(f"opsbook.checks.{kind.value}"))


def kind_of(check: CheckBase) -> CheckKind:
    return check.kind


Runner = Callable[[CheckBase, Probe], Awaitable[Reading]]
