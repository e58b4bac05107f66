"""Running an action: who may, what runs, and everything said on the incident's timeline.

The command runs as a calendar job does (jobs/execute: its own process group, a timeout that
kills the tree, output read as it comes, its secrets masked before anything is stored). The
run goes into the actions log; in an incident, its start and its end (exit status, how long,
the last lines of output) go on the timeline with who ran it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from opsbook.config.actions import ActionConfig, ProcedureConfig, Role
from opsbook.config.paging_section import Paging
from opsbook.errors import UsageError
from opsbook.incidents.model import EntryKind
from opsbook.incidents.rows import append_entry, lock_incident
from opsbook.jobs.execute import OnLine, execute
from opsbook.playbook import records
from opsbook.playbook.records import ActionRun, Trigger
from opsbook.store.tx import begin
from opsbook.units import format_duration

TAIL_ON_TIMELINE = 20  # lines of output kept on the timeline entry


def role_of(actor: str, paging: Paging) -> Role:
    """A person's role from people: (responder unless said); someone not listed there is
    treated as a responder: they are on the host, with its shell, already."""
    person = paging.people.get(actor)
    return Role(person.role) if person is not None else Role.RESPONDER


def allowed(name: str, what: ActionConfig | ProcedureConfig, actor: str, paging: Paging) -> None:
    role = role_of(actor, paging)
    if role not in what.roles:
        roles = ", ".join(r.value for r in what.roles)
        kind = "action" if isinstance(what, ActionConfig) else "procedure"
        raise UsageError(f"{actor} is a {role.value}; {kind} {name} may be run by: {roles}")


def describe(action: ActionConfig) -> str:
    return " ".join(action.argv) if not action.shell else str(action.command)


def run_action(
    engine: Engine,
    name: str,
    action: ActionConfig,
    *,
    incident_id: str | None,
    actor: str,
    trigger: Trigger,
    clock: Callable[[], datetime],
    redact: Callable[[str], str] = str,
    on_line: OnLine | None = None,
) -> ActionRun:
    if incident_id is not None:  # an unknown incident: said before anything runs
        with begin(engine) as conn:
            lock_incident(conn, incident_id)
    started = clock()
    run_id = records.start(engine, name, incident_id, trigger, actor, started)
    if incident_id is not None:
        said = f"{actor} runs {name}: {redact(describe(action))}"
        _note(
            engine,
            incident_id,
            started,
            actor,
            said,
            {"action": name, "run": run_id, "trigger": trigger.value},
        )
    outcome = execute(
        action.argv, timeout=action.timeout, env=action.env, cwd=action.workdir, on_line=on_line
    )
    summary, output = redact(outcome.summary), redact(outcome.output)
    ended = clock()
    records.finish(engine, run_id, outcome.status, outcome.exit_code, summary, output, ended)
    if incident_id is not None:
        tail = "\n".join(output.splitlines()[-TAIL_ON_TIMELINE:])
        exit_said = f"exit {outcome.exit_code}" if outcome.exit_code is not None else "no exit"
        said = (
            f"{name} {outcome.status.name} ({exit_said}) in "
            f"{format_duration(outcome.seconds)}: {summary}"
        )
        _note(
            engine,
            incident_id,
            ended,
            actor,
            said,
            {
                "action": name,
                "run": run_id,
                "status": outcome.status.name,
                "exit_code": outcome.exit_code,
                "seconds": round(outcome.seconds, 3),
                "output": tail,
                "trigger": trigger.value,
            },
        )
    return records.get(engine, run_id)


def _note(
    engine: Engine, incident_id: str, at: datetime, actor: str, body: str, data: dict[str, object]
) -> None:
    with begin(engine) as conn:
        lock_incident(conn, incident_id)
        append_entry(conn, incident_id, at, actor, EntryKind.ACTION_RUN, body, data)
