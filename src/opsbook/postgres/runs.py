"""The record of every maintenance run (``opsbook db maintenance-log``): who, what, when, how
long, how it went; kept in opsbook's store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select

from opsbook.postgres.maintenance import Outcome
from opsbook.store.tables import maintenance_runs
from opsbook.store.tx import begin, read


@dataclass(frozen=True)
class Run:
    id: int
    kind: str
    target: str
    object: str
    statement: str
    actor: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    detail: str

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def record(engine: Engine, target: str, outcomes: Sequence[Outcome], actor: str) -> None:
    with begin(engine) as conn:
        for o in outcomes:
            conn.execute(
                insert(maintenance_runs).values(
                    kind=o.step.kind,
                    target=target,
                    object=o.step.object,
                    statement=o.statement,
                    actor=actor,
                    started_at=o.started_at,
                    finished_at=o.finished_at,
                    ok=o.ok,
                    detail=o.detail,
                )
            )


def recent(engine: Engine, limit: int) -> list[Run]:
    """The newest runs first."""
    with read(engine) as conn:
        rows = conn.execute(
            select(maintenance_runs).order_by(maintenance_runs.c.id.desc()).limit(limit)
        ).all()
    return [
        Run(r.id, r.kind, r.target, r.object, r.statement, r.actor, r.started_at,
            r.finished_at, r.ok, r.detail)
        for r in rows
    ]  # fmt: skip
