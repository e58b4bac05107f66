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


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float, float] | None:
    """A robust line through the points: (slope, intercept, low slope, high slope).

    The slope is the median of the slopes between every pair of points, so one spike (a
    backup filling the disk for an hour, a load test) moves it little; the low and high
    slopes are the pairs' 10th and 90th percentiles, the band a forecast gives. None with
    fewer than two distinct x.
    """
    slopes = sorted(
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    )
    if not slopes:
        return None
    slope = statistics.median(slopes)
    intercept = statistics.median(y - slope * x for x, y in zip(xs, ys, strict=True))
    low = percentile(slopes, 10)
    high = percentile(slopes, 90)
    assert low is not None and high is not None
    return slope, intercept, low, high
