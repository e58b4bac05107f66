"""The actions log: every action run, in an incident or not, by whom, how it ended."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from opsbook.status import Status
from opsbook.store.tables import action_runs
from opsbook.store.tx import begin, read


class Trigger(enum.StrEnum):
    MANUAL = "manual"
    AUTO = "auto"  # a guarded automatic remediation
    PROCEDURE = "procedure"


@dataclass(frozen=True)
class ActionRun:
    id: int
    action: str
    incident_id: str | None
    trigger: Trigger
    actor: str
    started_at: datetime
    finished_at: datetime | None
    status: Status | None
    exit_code: int | None
    summary: str
    output: str

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def start(
    engine: Engine,
    action: str,
    incident_id: str | None,
    trigger: Trigger,
    actor: str,
    now: datetime,
) -> int:
    with begin(engine) as conn:
        result = conn.execute(
            insert(action_runs).values(
                action=action,
                incident_id=incident_id,
                trigger=trigger.value,
                actor=actor,
                started_at=now,
                summary="",
                output="",
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def finish(
    engine: Engine,
    run_id: int,
    status: Status,
    exit_code: int | None,
    summary: str,
    output: str,
    now: datetime,
) -> None:
    with begin(engine) as conn:
        conn.execute(
            update(action_runs)
            .where(action_runs.c.id == run_id)
            .values(
                finished_at=now,
                status=int(status),
                exit_code=exit_code,
                summary=summary[:2000],
                output=output,
            )
        )


def runs(
    engine: Engine,
    *,
    action: str | None = None,
    incident_id: str | None = None,
    trigger: Trigger | None = None,
    limit: int = 50,
) -> list[ActionRun]:
    query = select(action_runs).order_by(action_runs.c.id.desc()).limit(limit)
    if action is not None:
        query = query.where(action_runs.c.action == action)
    if incident_id is not None:
        query = query.where(action_runs.c.incident_id == incident_id)
    if trigger is not None:
        query = query.where(action_runs.c.trigger == trigger.value)
    with read(engine) as conn:
        return [_run(r) for r in conn.execute(query)]


def get(engine: Engine, run_id: int) -> ActionRun:
    with read(engine) as conn:
        return _run(conn.execute(select(action_runs).where(action_runs.c.id == run_id)).one())


def _run(row: Any) -> ActionRun:
    return ActionRun(
        row.id,
        row.action,
        row.incident_id,
        Trigger(row.trigger),
        row.actor,
        row.started_at,
        row.finished_at,
        Status(row.status) if row.status is not None else None,
        row.exit_code,
        row.summary,
        row.output,
    )
