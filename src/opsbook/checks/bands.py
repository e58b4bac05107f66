"""The usual band of a value this process has measured: median ± k·MAD of what it has been.

Used where a fixed threshold cannot be known in advance (a counter's rate, a business
figure): outside the band is unusual. Nothing is judged while the band is still being learnt
(``min_history`` of time and ``MIN_SEEN`` values), since a first minute says little.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass

from opsbook.stats import usual_band
from opsbook.units import format_duration

HISTORY_MAX = 20_000
MIN_SEEN = 10  # values seen before a band means anything
_SEEN: dict[Hashable, deque[tuple[float, float]]] = {}  # key -> (monotonic time, value)


@dataclass(frozen=True)
class Verdict:
    usual: bool
    low: float | None  # the band; None while learning
    high: float | None
    learning: str = ""  # "5m of 1h", "3 of 10 values"
    direction: str = ""  # "above" or "below" when not usual

    def says(self, shown: str, unit: str = "") -> str:
        """ "12/s (usual 3-20)", "12/s, above the usual 3-20/s" or "12/s (learning: 5m of 1h)"."""
        if self.low is None or self.high is None:
            return f"{shown} (learning: {self.learning})"
        band = f"{self.low:g}–{self.high:g}"
        if self.usual:
            return f"{shown} (usual {band})"
        return f"{shown}, {self.direction} the usual {band}{unit}"


def judge(key: Hashable, value: float, at: float, k: float, min_history: float,
          floor: float | None = 0.0) -> Verdict:  # fmt: skip
    """Judge ``value`` against the band of the values before it, then remember it."""
    history = _SEEN.setdefault(key, deque(maxlen=HISTORY_MAX))
    learnt = at - history[0][0] if history else 0.0
    past = [v for _, v in history]
    history.append((at, value))
    if learnt < min_history:
        return Verdict(True, None, None,
                       f"{format_duration(learnt)} of {format_duration(min_history)}")  # fmt: skip
    if len(past) < MIN_SEEN:
        return Verdict(True, None, None, f"{len(past)} of {MIN_SEEN} values")
    low, high = usual_band(past, k)
    if floor is not None:
        low = max(low, floor)
    low, high = round(low, 6), round(high, 6)
    if low <= value <= high:
        return Verdict(True, low, high)
    return Verdict(False, low, high, direction="above" if value > high else "below")


def forget() -> None:
    _SEEN.clear()
