"""Procedure runs and their steps, in the store: where a resume starts, and what each step
did (`opsbook run NAME --resume` after a failure, or after the process was killed)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, insert, select, update

from opsbook.identity import is_dead_here, worker_id
from opsbook.store.tables import procedure_runs, procedure_steps
from opsbook.store.tx import begin, read


class State(enum.StrEnum):
    RUNNING = "running"
    FAILED = "failed"
    DONE = "done"


@dataclass(frozen=True)
class ProcedureRun:
    id: int
    procedure: str
    incident_id: str | None
    actor: str
    started_at: datetime
    finished_at: datetime | None
    state: State
    next_step: int
    holder: str

    @property
    def stopped(self) -> bool:
        """Not running any more: failed, or its process is gone (killed mid-step)."""
        return self.state is State.FAILED or (
            self.state is State.RUNNING and is_dead_here(self.holder)
        )


@dataclass(frozen=True)
class StepRecord:
    step: int
    title: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None
    detail: str


def latest(engine: Engine, procedure: str) -> ProcedureRun | None:
    with read(engine) as conn:
        row = conn.execute(
            select(procedure_runs)
            .where(procedure_runs.c.procedure == procedure)
            .order_by(procedure_runs.c.id.desc())
            .limit(1)
        ).first()
    return _run(row) if row is not None else None


def begin_run(
    engine: Engine, procedure: str, incident_id: str | None, actor: str, now: datetime
) -> int:
    with begin(engine) as conn:
        result = conn.execute(
            insert(procedure_runs).values(
                procedure=procedure,
                incident_id=incident_id,
                actor=actor,
                started_at=now,
                state=State.RUNNING.value,
                next_step=0,
                holder=worker_id(),
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def take_over(engine: Engine, run: ProcedureRun, actor: str) -> bool:
    """Resume a stopped run from here (a conditional UPDATE: one resumer wins)."""
    with begin(engine) as conn:
        taken = conn.execute(
            update(procedure_runs)
            .where(
                and_(
                    procedure_runs.c.id == run.id,
                    procedure_runs.c.holder == run.holder,
                    procedure_runs.c.state == run.state.value,
                )
            )
            .values(state=State.RUNNING.value, holder=worker_id(), actor=actor, finished_at=None)
        )
        return taken.rowcount == 1


def step_started(engine: Engine, run_id: int, step: int, title: str, now: datetime) -> int:
    with begin(engine) as conn:
        result = conn.execute(
            insert(procedure_steps).values(
                run_id=run_id, step=step, title=title, started_at=now, detail=""
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def step_ended(
    engine: Engine, run_id: int, row_id: int, step: int, ok: bool, detail: str, now: datetime
) -> None:
    with begin(engine) as conn:
        conn.execute(
            update(procedure_steps)
            .where(procedure_steps.c.id == row_id)
            .values(finished_at=now, ok=ok, detail=detail[:4000])
        )
        values: dict[str, Any] = (
            {"next_step": step + 1} if ok else {"state": State.FAILED.value, "finished_at": now}
        )
        conn.execute(update(procedure_runs).where(procedure_runs.c.id == run_id).values(**values))


def finish_run(engine: Engine, run_id: int, now: datetime) -> None:
    with begin(engine) as conn:
        conn.execute(
            update(procedure_runs)
            .where(procedure_runs.c.id == run_id)
            .values(state=State.DONE.value, finished_at=now)
        )


def steps(engine: Engine, run_id: int) -> list[StepRecord]:
    with read(engine) as conn:
        rows = conn.execute(
            select(procedure_steps)
            .where(procedure_steps.c.run_id == run_id)
            .order_by(procedure_steps.c.id)
        )
        return [
            StepRecord(r.step, r.title, r.started_at, r.finished_at, r.ok, r.detail) for r in rows
        ]


def _run(row: Any) -> ProcedureRun:
    return ProcedureRun(
        row.id,
        row.procedure,
        row.incident_id,
        row.actor,
        row.started_at,
        row.finished_at,
        State(row.state),
        row.next_step,
        row.holder,
    )
