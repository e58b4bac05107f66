"""Check kinds: one module per kind, each exposing ``describe(check)`` and ``run(check, phase)``.

Modules are imported only when a configured check needs them, so ``opsbook check`` on a
host with only disk and memory checks never pays for a database driver.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Iterable
from typing import Any, Protocol, cast

from opsbook.results import CheckKind, Phase, Reading


class CheckModule(Protocol):
    def describe(self, check: Any) -> str: ...

    def run(self, check: Any, phase: Phase) -> Awaitable[Reading]: ...


def module_for(kind: CheckKind) -> CheckModule:
    return cast(CheckModule, importlib.import_module(f"opsbook.checks.{kind.value}"))


_FOLLOWING = (CheckKind.LOG, CheckKind.LOG_ERRORS)  # kinds that keep a file open between runs


def release(checks: Iterable[Any]) -> None:
    """Let the kinds that keep files open between runs close what no check in ``checks``
    reads any more (opsbook serve, after a reload). A kind never imported holds nothing."""
    for kind in _FOLLOWING:
        module = sys.modules.get(f"opsbook.checks.{kind.value}")
        if module is not None:
            module.keep([c for c in checks if c.kind is kind])
