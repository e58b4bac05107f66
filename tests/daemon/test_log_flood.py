"""The daemon's log keeps a flood to one line a minute, and says how many it held back."""

from __future__ import annotations

import logging

from opsbook.daemon.logs import RepeatFilter


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.error", level, __file__, 1, msg, args, None)


def test_a_flood_is_one_line_a_minute_with_the_count_of_the_rest() -> None:
    ticks = Ticks()
    flt = RepeatFilter(window=60, clock=ticks)
    passed = []
    for n in range(10_000):
        ticks.now = n * 0.01  # 100 a second for 100 s
        rec = record("could not store %d results: %s", n, "database is locked")
        if flt.filter(rec):
            passed.append(rec.getMessage())
    assert len(passed) == 2
    assert passed[0] == "could not store 0 results: database is locked"
    assert passed[1].endswith("[5999 more like this in the last 60 s]")


def test_different_lines_are_not_held_back() -> None:
    flt = RepeatFilter(window=60, clock=Ticks())
    lines = ["cache: firing, opened INC-1", "db: resolved", "paging: store down"]
    assert all(flt.filter(record(text)) for text in lines)
