"""``opsbook incident act``, ``opsbook actions …``: the runbook's containment steps, run from
the incident with who ran them on its timeline (docs/actions.md)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from opsbook.cli.context import actor, as_option, opened
from opsbook.cli.options import config_option, format_option, named

if TYPE_CHECKING:
    from opsbook.cli.context import Opened
    from opsbook.config.actions import ActionConfig


def _action(c: Opened, name: str) -> ActionConfig:
    return named(c.loaded.config.actions, name, "action", c.loaded.source)


def _run(c: Opened, name: str, incident_id: str | None, who: str, yes: bool) -> int:
    from opsbook.errors import UsageError
    from opsbook.playbook.act import allowed, describe, run_action
    from opsbook.playbook.records import Trigger
    from opsbook.status import Status
    from opsbook.units import format_duration

    action = _action(c, name)
    allowed(name, action, who, c.loaded.config.paging)
    if incident_id is not None:
        c.incidents.get(incident_id)  # an unknown incident: said before anything is asked
    where = f" in {incident_id}" if incident_id else ""
    click.echo(
        f"{name}{where}: {c.loaded.redactor(describe(action))} "
        f"(timeout {format_duration(action.timeout)})",
        err=True,
    )
    if action.confirm and not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                f"action {name} asks before it runs: run it on a terminal, or add --yes"
            )
        click.confirm("run it?", abort=True, err=True)

    def show(stream: str, line: str) -> None:
        click.echo(c.loaded.redactor(line), err=stream == "stderr")

    done = run_action(
        c.engine,
        name,
        action,
        incident_id=incident_id,
        actor=who,
        trigger=Trigger.MANUAL,
        clock=c.now,
        redact=c.loaded.redactor,
        on_line=show,
    )
    assert done.status is not None
    took = format_duration(done.seconds or 0.0)
    click.echo(
        f"{name} {done.status.name} in {took}: {done.summary}"
        + (f" (on {incident_id}'s timeline)" if incident_id else " (in the actions log)")
    )
    return 0 if done.status is Status.OK else int(done.status)


@click.command()
@click.argument("incident_id", metavar="ID")
@click.argument("name", metavar="ACTION")
@click.option("--yes", is_flag=True, help="Do not ask first (for scripts).")
@as_option
@config_option
@click.pass_context
def act(ctx: click.Context, incident_id: str, name: str, yes: bool, as_: str | None) -> None:
    """Run ACTION (from actions:) for incident ID: shows what will run, asks, streams its
    output, and puts who ran it, the exit status and the last lines on the timeline."""
    c = opened(ctx)
    ctx.exit(_run(c, name, incident_id, actor(as_), yes))


@click.group()
def actions() -> None:
    """Containment actions (actions:): list them, run one outside an incident, the log."""


@actions.command(name="list")
@format_option("table", "json")
@config_option
@click.pass_context
def list_(ctx: click.Context, fmt: str) -> None:
    """Every action: what it runs, who may, whether it asks, what it is suggested for."""
    from opsbook.output.playbook import actions_json, actions_text

    c = opened(ctx)
    if fmt == "json":
        click.echo(c.loaded.redactor(json.dumps(actions_json(c.loaded.config.actions), indent=2)))
    else:
        click.echo(c.loaded.redactor(actions_text(c.loaded.config.actions)))


@actions.command(name="run")
@click.argument("name", metavar="ACTION")
@click.option("--yes", is_flag=True, help="Do not ask first (for scripts).")
@as_option
@config_option
@click.pass_context
def run_(ctx: click.Context, name: str, yes: bool, as_: str | None) -> None:
    """Run ACTION outside any incident; recorded in the actions log."""
    c = opened(ctx)
    ctx.exit(_run(c, name, None, actor(as_), yes))


@actions.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=30, show_default=True)
@click.option("--action", "name", metavar="ACTION", help="Only this action's runs.")
@format_option("table", "json")
@config_option
@click.pass_context
def log(ctx: click.Context, limit: int, name: str | None, fmt: str) -> None:
    """Every action run, newest first: which, where, by whom (or by opsbook), how it ended."""
    from opsbook.output.playbook import run_json, runs_text
    from opsbook.playbook import records

    c = opened(ctx)
    found = records.runs(c.engine, action=name, limit=limit)
    if fmt == "json":
        click.echo(json.dumps({"runs": [run_json(r) for r in found]}, indent=2))
    else:
        click.echo(runs_text(found, c.tz))


@click.command(name="run")
@click.argument("name", metavar="PROCEDURE")
@click.option("--incident", "incident_id", metavar="ID", help="Put every step on its timeline.")
@click.option("--dry-run", is_flag=True, help="Show the plan only.")
@click.option("--resume", is_flag=True, help="Go on from the step that failed (or was killed).")
@as_option
@config_option
@click.pass_context
def run_procedure(ctx: click.Context, name: str, incident_id: str | None, dry_run: bool,
                  resume: bool, as_: str | None) -> None:  # fmt: skip
    """Run a recovery PROCEDURE (procedures:) step by step: the plan first, progress as it
    goes, a stop at the first failure saying what failed and how to go on (--resume)."""
    from opsbook.routines.recovery import Runner, plan
    from opsbook.routines.recovery import run_procedure as run_it

    c = opened(ctx)
    procedure = named(c.loaded.config.procedures, name, "procedure", c.loaded.source)
    if incident_id is not None:
        c.incidents.get(incident_id)
    click.echo(f"procedure {name}" + (f": {procedure.description}" if procedure.description
                                      else ""), err=True)  # fmt: skip
    for line in plan(procedure):
        click.echo(f"  {c.loaded.redactor(line)}", err=True)
    if dry_run:
        return
    terminal = sys.stdin.isatty()

    def ask(what: str) -> bool:
        return click.confirm(f"  confirm: {what}. Done?", err=True)

    def show(stream: str, line: str) -> None:
        click.echo(f"    {c.loaded.redactor(line)}", err=True)

    runner = Runner(c.engine, c.loaded, actor(as_), c.now, lambda s: click.echo(s, err=True),
                    ask if terminal else None, on_line=show, incident_id=incident_id)  # fmt: skip
    done = run_it(runner, name, procedure, resume=resume)
    if done.ok:
        click.echo(f"procedure {name} done (run {done.run_id})")
    else:
        click.echo(f"procedure {name} FAILED at step {done.failed_step}: {done.detail}")
    ctx.exit(0 if done.ok else 2)
