"""Exact quantiles from (value, count) pairs.

nginx writes $request_time in milliseconds, so counting each millisecond value is an exact
histogram: percentiles come out exactly as from the raw list (linear interpolation between
closest ranks, numpy's default and ``statistics.quantiles(method="inclusive")``) while memory
holds one entry per distinct value, not one per line.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate


def quantiles(values: Sequence[float], counts: Sequence[int], qs: Sequence[float]) -> list[float]:
    """``values`` ascending; returns one value per q in ``qs`` (0..1). A value may repeat
    (partials stacked, not merged): its counts add up as if merged."""
    if not values:
        return [math.nan for _ in qs]
    cumulative = list(accumulate(counts))
    total = cumulative[-1]

    def at(rank: int) -> float:  # the value at 0-based rank in the expanded sorted list
        return values[bisect_right(cumulative, rank)]

    out = []
    for q in qs:
        h = (total - 1) * q
        lo = math.floor(h)
        low = at(lo)
        out.append(low + (h - lo) * (at(min(lo + 1, total - 1)) - low))
    return out


LOG_BUCKETS_PER_DOUBLING = 8


def log_bucket_ms(bucket: int) -> float:
    """The middle of a bucket, in milliseconds."""
    return float(2 ** ((bucket + 0.5) / LOG_BUCKETS_PER_DOUBLING) - 1)
