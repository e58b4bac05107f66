"""A recovery procedure, run step by step (`opsbook run NAME`): every step recorded, the run
stopped at the first failure with what failed and what to do, and resumed from that step
after a fix (`--resume`), also after the process running it was killed.

Steps: an action (with its roles), a command, a wait until a check is OK (the runbook's
blind `sleep 60` made a question, with a timeout), a backup restore (`opsbook backup
restore` in a child), a read-only SQL verification whose rows are shown and whose first value
may have to meet a condition, and a person's confirmation of something done by hand.
"""

from __future__ import annotations

import operator
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from opsbook.config.actions import ProcedureConfig, Step, expectation
from opsbook.config.jobs import argv_of_command
from opsbook.errors import JobBusy, OpsbookError, UsageError
from opsbook.incidents.model import EntryKind
from opsbook.incidents.records import note_incident
from opsbook.jobs.execute import OnLine, execute
from opsbook.playbook import steps_log
from opsbook.playbook.act import allowed, run_action
from opsbook.playbook.records import Trigger
from opsbook.playbook.steps_log import State
from opsbook.status import Status
from opsbook.units import format_duration

if TYPE_CHECKING:
    from opsbook.config.loader import LoadedConfig

OPS = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
}
ROWS_SHOWN = 20


@dataclass
class Runner:
    engine: Engine
    loaded: LoadedConfig
    actor: str
    clock: Callable[[], datetime]
    say: Callable[[str], None]  # progress, for people
    confirm: Callable[[str], bool] | None  # None: no person at a terminal
    on_line: OnLine | None = None
    incident_id: str | None = None


@dataclass(frozen=True)
class Done:
    ok: bool
    run_id: int
    failed_step: int | None = None  # 1-based
    detail: str = ""


def plan(procedure: ProcedureConfig) -> list[str]:
    n = len(procedure.steps)
    return [f"{i + 1}/{n} {step.describe()}" for i, step in enumerate(procedure.steps)]


def run_procedure(r: Runner, name: str, procedure: ProcedureConfig, *, resume: bool) -> Done:
    paging = r.loaded.config.paging
    allowed(name, procedure, r.actor, paging)
    for step in procedure.steps:  # every action's own roles, before anything runs
        if step.action is not None:
            allowed(step.action, r.loaded.config.actions[step.action], r.actor, paging)
    previous = steps_log.latest(r.engine, name)
    if previous is not None and previous.state is State.RUNNING and not previous.stopped:
        raise JobBusy(f"procedure {name} is running (run {previous.id}, {previous.holder})")
    if resume:
        if previous is None or not previous.stopped:
            raise UsageError(f"procedure {name} has nothing to resume: run it without --resume")
        if not steps_log.take_over(r.engine, previous, r.actor):
            raise JobBusy(f"procedure {name} was resumed by someone else")
        run_id, first = previous.id, previous.next_step
        r.incident_id = r.incident_id or previous.incident_id
        r.say(f"resuming {name} (run {run_id}) at step {first + 1}/{len(procedure.steps)}")
    else:
        run_id, first = steps_log.begin_run(r.engine, name, r.incident_id, r.actor, r.clock()), 0
    for index in range(first, len(procedure.steps)):
        step = procedure.steps[index]
        label = f"step {index + 1}/{len(procedure.steps)} {step.describe()}"
        r.say(f"{label} …")
        started = r.clock()
        row = steps_log.step_started(r.engine, run_id, index, step.describe(), started)
        t0 = time.monotonic()
        try:
            ok, detail = _step(r, step)
        except OpsbookError as exc:
            ok, detail = False, str(exc)
        detail = r.loaded.redactor(detail)
        took = format_duration(time.monotonic() - t0)
        steps_log.step_ended(r.engine, run_id, row, index, ok, detail, r.clock())
        said = f"{name} {label}: {'OK' if ok else 'FAILED'} in {took}" + (
            f": {detail}" if detail else ""
        )
        _timeline(r, said, {"procedure": name, "run": run_id, "step": index + 1, "ok": ok})
        r.say(said)
        if not ok:
            r.say(f"fix what failed, then: opsbook run {name} --resume (from step {index + 1})")
            return Done(False, run_id, index + 1, detail)
    steps_log.finish_run(r.engine, run_id, r.clock())
    _timeline(
        r, f"{name}: all {len(procedure.steps)} steps done", {"procedure": name, "run": run_id}
    )
    return Done(True, run_id)


def _timeline(r: Runner, body: str, data: dict[str, Any]) -> None:
    if r.incident_id is not None:
        note_incident(r.engine, r.incident_id, r.clock(), r.actor, EntryKind.PROCEDURE, body, data)


def _step(r: Runner, step: Step) -> tuple[bool, str]:
    if step.action is not None:
        action = r.loaded.config.actions[step.action]
        run = run_action(
            r.engine,
            step.action,
            action,
            incident_id=r.incident_id,
            actor=r.actor,
            trigger=Trigger.PROCEDURE,
            clock=r.clock,
            redact=r.loaded.redactor,
            on_line=r.on_line,
        )
        return run.status is Status.OK, run.summary
    if step.run is not None:
        outcome = execute(argv_of_command(step.run, False), timeout=step.timeout, on_line=r.on_line)
        return outcome.status is Status.OK, outcome.summary
    if step.wait is not None:
        return _wait(r, step)
    if step.restore is not None:
        return _restore(r, step)
    if step.verify is not None:
        return _verify(r, step)
    assert step.confirm is not None
    if r.confirm is None:
        return False, f"needs a person at a terminal to confirm: {step.confirm}"
    if r.confirm(step.confirm):
        return True, f"{r.actor} confirmed: {step.confirm}"
    return False, f"not confirmed: {step.confirm}"


def _wait(r: Runner, step: Step) -> tuple[bool, str]:
    from opsbook import aio
    from opsbook.checks.runner import run_checks

    assert step.wait is not None
    check = r.loaded.config.checks[step.wait.check]
    deadline = time.monotonic() + step.wait.timeout
    while True:
        [result] = aio.run(run_checks({step.wait.check: check}, r.loaded.redactor))
        if result.status is Status.OK:
            return True, f"{step.wait.check} OK: {result.message}"
        if time.monotonic() + step.wait.every > deadline:
            return False, (
                f"{step.wait.check} still {result.status.name} after "
                f"{format_duration(step.wait.timeout)}: {result.message}"
            )
        time.sleep(step.wait.every)


def _restore(r: Runner, step: Step) -> tuple[bool, str]:
    from opsbook.backups.catalog import find

    assert step.restore is not None
    backups = r.loaded.config.backups
    if backups is None:
        return False, "no backups: in opsbook.yaml"
    entry = find(backups, step.restore.backup, source=step.restore.source)
    argv = [
        sys.executable,
        "-m",
        "opsbook",
        "backup",
        "restore",
        entry.id,
        "--to",
        step.restore.to,
        "--yes",
        "--as",
        r.actor,
    ]
    if step.restore.clean:
        argv.append("--clean")
    if r.loaded.path is not None:
        argv += ["--config", str(r.loaded.path)]
    outcome = execute(argv, timeout=step.restore.timeout, on_line=r.on_line)
    tail = outcome.output.strip().splitlines()[-1:] or [outcome.summary]
    return outcome.status is Status.OK, f"{entry.id}: {tail[0]}"


def _verify(r: Runner, step: Step) -> tuple[bool, str]:
    from opsbook.clients import postgres as pg
    from opsbook.postgres.connect import target

    assert step.verify is not None
    where = target(r.loaded.config, None, step.verify.dsn)
    with pg.session(where.dsn, label=where.label, statement_timeout=step.timeout) as conn:
        conn.execute("SET default_transaction_read_only = on")
        rows = conn.execute(step.verify.sql).fetchmany(ROWS_SHOWN)
    shown = [", ".join(f"{k}={v}" for k, v in row.items()) for row in rows]
    for line in shown:
        r.say(f"    {line}")
    said = "; ".join(shown) or "no rows"
    if step.verify.expect is None:
        return True, said
    op, number = expectation(step.verify.expect)
    first = next(iter(rows[0].values()), None) if rows else None
    try:
        value = float(first) if first is not None else None
    except (TypeError, ValueError):
        value = None
    if value is None:
        return False, f"expected a number to hold {step.verify.expect}, got {first!r}"
    held = OPS[op](value, number)
    return held, f"{said} ({value:g} {op} {number:g}: {'holds' if held else 'does NOT hold'})"
