"""The board's 24-hour sparklines and uptime for every check, read in one grouped query
(raw results and their 5-minute rollups, by hour) and kept for a minute: a board of a
thousand checks must not cost a thousand queries per viewer.
"""

from __future__ import annotations

import time
from datetime import datetime
from html import escape

from sqlalchemy import Engine

from opsbook.alerts.buckets import Spark, read_sparks
from opsbook.status import Status

KEEP_FOR = 60.0  # seconds a read serves the board


class SparkCache:
    """The sparks and their drawings, read and drawn once a minute for every viewer."""

    def __init__(self) -> None:
        self.read_at = -KEEP_FOR
        self.sparks: dict[str, Spark] = {}
        self.drawn: dict[str, str] = {}

    def get(self, engine: Engine, now: datetime) -> tuple[dict[str, Spark], dict[str, str]]:
        """Called in the store thread."""
        if time.monotonic() - self.read_at >= KEEP_FOR:
            self.sparks = read_sparks(engine, now)
            self.drawn = {name: svg(spark) for name, spark in self.sparks.items()}
            self.read_at = time.monotonic()
        return self.sparks, self.drawn


def svg(spark: Spark | None) -> str:
    """Bars an hour wide, as tall as the hour's mean value, coloured by its worst status:
    one path per status (a thousand checks' board stays small), one title saying the day."""
    if spark is None:
        return ""
    top = max((v for v in spark.mean if v is not None), default=0.0) or 1.0
    paths: dict[int, list[str]] = {}
    for i, (worst, mean) in enumerate(zip(spark.worst, spark.mean, strict=True)):
        if worst is None:
            continue
        h = round(3 + 15 * max(mean or 0.0, 0.0) / top)
        paths.setdefault(worst, []).append(f"M{i * 4} {20 - h}h3v{h}h-3z")
    hours = {s: sum(w == s for w in spark.worst) for s in paths}
    said = ", ".join(f"{n} h {Status(s).name}" for s, n in sorted(hours.items()))
    if spark.uptime is not None:
        said += f"; uptime {spark.uptime * 100:.2f} %"
    body = "".join(f'<path class="s{s}" d="{"".join(d)}"/>' for s, d in sorted(paths.items()))
    return ('<svg class="spark" viewBox="0 0 96 20" width="96" height="20" role="img">'
            f"<title>last 24 h: {escape(said)}</title>{body}</svg>")  # fmt: skip
