"""One run of a job: under its lock (one run at a time across a deployment: serve, a second
serve, `opsbook jobs run`), recorded from start to end, whatever the process does."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from opsbook.backups import records as locks
from opsbook.config.jobs import CommandJob, JobBase
from opsbook.errors import JobBusy
from opsbook.jobs import records
from opsbook.jobs.execute import OnLine, Outcome, execute
from opsbook.jobs.records import Run, Trigger
from opsbook.status import Status

LOCK_MARGIN = timedelta(minutes=2)  # a lock outlives the run's timeout by this much


def lock_name(name: str) -> str:
    return f"job:{name}"


def argv_of(name: str, job: JobBase, config_path: str | None) -> list[str]:
    """What runs: the command's argv, or opsbook's own `jobs exec` for a built-in action
    (in a child, so its timeout kills it like any program)."""
    if isinstance(job, CommandJob):
        return job.argv
    argv = [sys.executable, "-m", "opsbook", "jobs", "exec", name, "--format", "json"]
    if config_path is not None:
        argv += ["--config", config_path]
    return argv


def run_job(
    engine: Engine,
    name: str,
    job: JobBase,
    *,
    config_path: str | None,
    trigger: Trigger,
    slot: datetime | None,
    actor: str,
    clock: Callable[[], datetime],
    on_line: OnLine | None = None,
    stop: threading.Event | None = None,
    redact: Callable[[str], str] = str,
) -> Run:
    """Run ``job`` now and return its recorded run. Raises JobBusy when it is running
    elsewhere (nothing is recorded then: it is that other run's record that counts)."""
    if not locks.claim(engine, lock_name(name), timedelta(seconds=job.timeout) + LOCK_MARGIN):
        raise JobBusy(f"job {name} is already running (job lock {lock_name(name)!r})")
    try:
        run_id = records.start(engine, name, trigger, slot, clock(), job.timeout, actor)
        try:
            outcome = _outcome(name, job, config_path, on_line, stop)
        except KeyboardInterrupt:
            records.finish(
                engine, run_id, Status.UNKNOWN, "interrupted (Ctrl-C); killed", "", None, clock()
            )
            raise
        # what a command printed is stored and shown: its secrets masked first
        records.finish(
            engine,
            run_id,
            outcome.status,
            redact(outcome.summary),
            redact(outcome.output),
            outcome.data,
            clock(),
        )
    finally:
        locks.release(engine, lock_name(name))
    done = records.get(engine, run_id)
    assert done is not None
    return done


def _outcome(
    name: str,
    job: JobBase,
    config_path: str | None,
    on_line: OnLine | None,
    stop: threading.Event | None,
) -> Outcome:
    command = isinstance(job, CommandJob)
    return execute(
        argv_of(name, job, config_path),
        timeout=job.timeout,
        env=job.env if isinstance(job, CommandJob) else None,
        cwd=job.workdir if isinstance(job, CommandJob) else None,
        on_line=on_line,
        json_stdout=not command,
        stop=stop,
    )
