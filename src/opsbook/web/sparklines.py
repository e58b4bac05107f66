"""The board's 24-hour sparklines and uptime for every check, read in one grouped query
(raw results and their 5-minute rollups, by hour) and kept for a minute: a board of a
thousand checks must not cost a thousand queries per viewer.
"""

from __future__ import annotations

import time
from datetime import datetime
from html import escape

from sqlalchemy import Engine

from opsbook.alerts.buckets import HOURS, Spark, read_sparks
from opsbook.status import Status

KEEP_FOR = 60.0  # seconds a read serves the board


class SparkCache:
    def __init__(self) -> None:
        self.read_at = -KEEP_FOR
        self.sparks: dict[str, Spark] = {}

    def get(self, engine: Engine, now: datetime) -> dict[str, Spark]:
        """Called in the store thread."""
        if time.monotonic() - self.read_at >= KEEP_FOR:
            self.sparks = read_sparks(engine, now)
            self.read_at = time.monotonic()
        return self.sparks


def svg(spark: Spark | None) -> str:
    """Bars an hour wide, as tall as the hour's mean value, coloured by its worst status."""
    if spark is None:
        return ""
    top = max((v for v in spark.mean if v is not None), default=0.0) or 1.0
    bars = []
    for i, (worst, mean) in enumerate(zip(spark.worst, spark.mean, strict=True)):
        if worst is None:
            continue
        h = 3 + 15 * max(mean or 0.0, 0.0) / top
        when = "this hour" if i == HOURS - 1 else f"{HOURS - 1 - i} h before this hour"
        label = f"{when}: {Status(worst).name}"
        if mean is not None:
            label += f", mean {mean:.4g}"
        bars.append(f'<rect class="s{worst}" x="{i * 4}" y="{20 - h:.1f}" width="3" '
                    f'height="{h:.1f}"><title>{escape(label)}</title></rect>')  # fmt: skip
    return ('<svg class="spark" viewBox="0 0 96 20" width="96" height="20" role="img" '
            f'aria-label="the last 24 hours">{"".join(bars)}</svg>')  # fmt: skip
