"""How a long operation says how far it has got, without knowing who is listening.

Backups, verifies and restores report bytes done (and, where there are several, which
artifact); maintenance reports one line per step. The CLI passes a terminal bar or printer,
the daemon passes nothing, and the operation never formats anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: int, what: str = "", /) -> None:
        """``done`` bytes so far, of ``what`` when the operation has several parts."""


OnStep = Callable[[str], None]  # a line per maintenance step: "vacuum public.t: done in 2.1 s"
