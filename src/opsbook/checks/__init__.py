"""Check kinds: one module per kind, each exposing ``describe(check)`` and ``run(check, phase)``.

Modules are imported only when a configured check needs them, so ``opsbook check`` on a
host with only disk and memory checks never pays for a database driver.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable
from typing import Any, Protocol, cast

from opsbook.results import CheckKind, Phase, Reading


class CheckModule(Protocol):
    def describe(self, check: Any) -> str: ...

    def run(self, check: Any, phase: Phase) -> Awaitable[Reading]: ...


def module_for(kind: CheckKind) -> CheckModule:
    return cast(CheckModule, importlib.import_module(f"opsbook.checks.{kind.value}"))
