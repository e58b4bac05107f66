"""Saved error-template baselines in the store, by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select

from opsbook.errors import LogError
from opsbook.logs.templates import Baseline
from opsbook.store.tables import log_baselines
from opsbook.store.tx import begin, read
from opsbook.store.upsert import upsert


@dataclass(frozen=True, slots=True)
class Saved:
    name: str
    saved_at: datetime
    saved_by: str
    entries: int
    templates: int
    span_seconds: float | None


def save(engine: Engine, baseline: Baseline, templates: int, actor: str) -> None:
    """Create or replace the baseline of this name."""
    with begin(engine) as conn:
        upsert(
            conn,
            log_baselines,
            {
                "name": baseline.name,
                "saved_at": baseline.saved_at,
                "saved_by": actor,
                "entries": baseline.entries,
                "span_seconds": baseline.span_seconds,
                "templates": templates,
                "state": baseline.state.decode("ascii"),
            },
            ["name"],
        )


def load(engine: Engine, name: str) -> Baseline:
    with read(engine) as conn:
        row = conn.execute(select(log_baselines).where(log_baselines.c.name == name)).first()
        names = [] if row else list(conn.execute(select(log_baselines.c.name)).scalars())
    if row is None:
        known = f"; saved baselines: {', '.join(sorted(names))}" if names else ""
        raise LogError(
            f"no baseline named {name!r}{known}; save one with "
            f"opsbook logs errors FILE --baseline {name} --save"
        )
    return Baseline(
        row.name, row.saved_at, row.entries, row.span_seconds, row.state.encode("ascii")
    )


def listing(engine: Engine) -> list[Saved]:
    cols = log_baselines.c
    query = select(cols.name, cols.saved_at, cols.saved_by, cols.entries, cols.templates,
                   cols.span_seconds).order_by(cols.name)  # fmt: skip
    with read(engine) as conn:
        return [Saved(*row) for row in conn.execute(query)]


def remove(engine: Engine, name: str) -> bool:
    with begin(engine) as conn:
        return conn.execute(delete(log_baselines).where(log_baselines.c.name == name)).rowcount > 0
