"""The daemon's own log: one line per event, and a flood of the same line kept to one a
minute (a client hammering a bad request once wrote 121 MB of log in 30 s)."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable

WINDOW = 60.0
_DIGITS = re.compile(r"\d+")
MAX_KEYS = 10_000


class RepeatFilter(logging.Filter):
    """The first line of a kind passes; the same kind (logger, level, and the line with its
    numbers blanked, so "could not store 5 results" and "… 6 results" are one kind) is held
    back for WINDOW seconds, and the next that passes says how many were held."""

    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.window = window
        self.clock = clock
        self.seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, _DIGITS.sub("#", record.getMessage())[:500])
        now = self.clock()
        first, held = self.seen.get(key, (-self.window, 0))
        if now - first < self.window:
            self.seen[key] = (first, held + 1)
            return False
        if len(self.seen) >= MAX_KEYS:  # many distinct messages: forget, never grow unbounded
            self.seen.clear()
        self.seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {self.window:.0f} s]"
        return True


def configure() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    )
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
