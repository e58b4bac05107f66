"""Small statistics shared across the house (incident clocks, the daemon's lag)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile: the smallest value with ``pct`` % of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def usual_band(values: Sequence[float], k: float) -> tuple[float, float]:
    """median ± k·MAD: robust to the outliers it is meant to find (a steady series gets a
    band of 5 % of its median, not zero)."""
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values) or max(abs(median) * 0.05, 0.01)
    return median - k * mad, median + k * mad
