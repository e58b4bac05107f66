"""The calendar's records: each job's state (known since, the scheduled time last taken) and
every run (start, end, status, summary, the output's tail, a built-in action's findings)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, or_, select, update

from opsbook.identity import is_dead_here, worker_id
from opsbook.status import Status
from opsbook.store.tables import job_runs, job_state
from opsbook.store.tx import begin, read

ABANDON_AFTER = timedelta(minutes=1)  # past its deadline, a run nobody finished is abandoned


class Trigger(enum.StrEnum):
    SCHEDULE = "schedule"
    CATCH_UP = "catch-up"  # the daemon was down at its time
    MANUAL = "manual"  # opsbook jobs run


@dataclass(frozen=True)
class JobState:
    known_since: datetime
    last_slot: datetime | None


@dataclass(frozen=True)
class Run:
    id: int
    job: str
    trigger: Trigger
    slot: datetime | None
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None
    status: Status | None  # None: running
    summary: str
    output: str
    data: dict[str, Any] | None
    actor: str

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def know(engine: Engine, names: list[str], now: datetime) -> dict[str, JobState]:
    """Each job's state, recording ``now`` as when a job new to the store became known: a
    job added today is neither overdue nor caught up for the times before it existed."""
    with begin(engine) as conn:
        found = {
            r.name: JobState(r.known_since, r.last_slot) for r in conn.execute(select(job_state))
        }
        for name in names:
            if name not in found:
                conn.execute(insert(job_state).values(name=name, known_since=now))
                found[name] = JobState(now, None)
    return found


def states(engine: Engine) -> dict[str, JobState]:
    with read(engine) as conn:
        return {
            r.name: JobState(r.known_since, r.last_slot) for r in conn.execute(select(job_state))
        }


def claim_slot(engine: Engine, name: str, slot: datetime) -> bool:
    """Take the scheduled time ``slot`` of job ``name``; False if someone already took it (or
    a later one). A conditional UPDATE: two daemons never both run the same slot."""
    with begin(engine) as conn:
        taken = conn.execute(
            update(job_state)
            .where(
                and_(
                    job_state.c.name == name,
                    or_(job_state.c.last_slot.is_(None), job_state.c.last_slot < slot),
                )
            )
            .values(last_slot=slot)
        )
        return taken.rowcount == 1


def start(
    engine: Engine,
    name: str,
    trigger: Trigger,
    slot: datetime | None,
    now: datetime,
    timeout: float,
    actor: str,
) -> int:
    with begin(engine) as conn:
        result = conn.execute(
            insert(job_runs).values(
                job=name,
                trigger=trigger.value,
                slot=slot,
                started_at=now,
                deadline=now + timedelta(seconds=timeout),
                summary="",
                output="",
                actor=actor,
                holder=worker_id(),
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def finish(
    engine: Engine,
    run_id: int,
    status: Status,
    summary: str,
    output: str,
    data: dict[str, Any] | None,
    now: datetime,
) -> None:
    with begin(engine) as conn:
        conn.execute(
            update(job_runs)
            .where(job_runs.c.id == run_id)
            .values(
                finished_at=now,
                status=int(status),
                summary=summary[:2000],
                output=output,
                data=data,
            )
        )


def runs(engine: Engine, job: str | None = None, limit: int = 50) -> list[Run]:
    query = select(job_runs).order_by(job_runs.c.started_at.desc(), job_runs.c.id.desc())
    if job is not None:
        query = query.where(job_runs.c.job == job)
    with read(engine) as conn:
        return [_run(r) for r in conn.execute(query.limit(limit))]


def latest(engine: Engine, names: list[str], per_job: int = 5) -> dict[str, list[Run]]:
    """Each job's newest runs, newest first."""
    return {name: runs(engine, name, per_job) for name in names}


def get(engine: Engine, run_id: int) -> Run | None:
    with read(engine) as conn:
        row = conn.execute(select(job_runs).where(job_runs.c.id == run_id)).first()
    return _run(row) if row is not None else None


def abandon(engine: Engine, now: datetime) -> int:
    """Runs whose runner died (kill -9 of the daemon, a reboot) end as UNKNOWN: at once when
    the runner was a process of this host that is gone, else a minute past their deadline."""
    with begin(engine) as conn:
        open_runs = conn.execute(
            select(job_runs.c.id, job_runs.c.holder, job_runs.c.deadline).where(
                job_runs.c.finished_at.is_(None)
            )
        ).all()
        gone = [
            r.id for r in open_runs if is_dead_here(r.holder) or r.deadline + ABANDON_AFTER < now
        ]
        if gone:
            conn.execute(
                update(job_runs)
                .where(and_(job_runs.c.id.in_(gone), job_runs.c.finished_at.is_(None)))
                .values(
                    finished_at=now,
                    status=int(Status.UNKNOWN),
                    summary="abandoned: the process running it stopped before it finished",
                )
            )
    return len(gone)


def prune(engine: Engine, now: datetime, keep_runs: float, keep_output: float) -> int:
    """Forget runs older than ``keep_runs`` and the output of those older than
    ``keep_output`` (summaries and findings stay: the monthly report reads them)."""
    with begin(engine) as conn:
        conn.execute(
            update(job_runs)
            .where(
                and_(
                    job_runs.c.started_at < now - timedelta(seconds=keep_output),
                    job_runs.c.output != "",
                )
            )
            .values(output="")
        )
        gone = conn.execute(
            delete(job_runs).where(job_runs.c.started_at < now - timedelta(seconds=keep_runs))
        )
        return gone.rowcount


def _run(row: Any) -> Run:
    return Run(
        id=row.id,
        job=row.job,
        trigger=Trigger(row.trigger),
        slot=row.slot,
        started_at=row.started_at,
        deadline=row.deadline,
        finished_at=row.finished_at,
        status=Status(row.status) if row.status is not None else None,
        summary=row.summary,
        output=row.output,
        data=row.data,
        actor=row.actor,
    )
