"""``opsbook jobs``: the runbook's calendar (docs/jobs.md): list, run now, history."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from opsbook.cli.context import actor, as_option, opened
from opsbook.cli.options import config_option, config_path, format_option, named

if TYPE_CHECKING:
    from opsbook.cli.context import Opened
    from opsbook.config.jobs import JobBase
    from opsbook.jobs.records import Run


@click.group()
def jobs() -> None:
    """The calendar: daily, weekly and monthly jobs that opsbook serve runs (jobs:)."""


def _job(c: Opened, name: str) -> JobBase:
    return named(c.loaded.config.jobs, name, "job", c.loaded.source)


@jobs.command(name="list")
@format_option("table", "json")
@config_option
@click.pass_context
def list_(ctx: click.Context, fmt: str) -> None:
    """Every job: its schedule, next run, and last result."""
    from opsbook.jobs import records
    from opsbook.jobs.calendar import next_fire
    from opsbook.output.jobs import Listed, jobs_json, jobs_text
    from opsbook.timefmt import calendar_clock

    c = opened(ctx)
    now = calendar_clock()()
    newest = records.latest(c.engine, list(c.loaded.config.jobs), per_job=5)
    listed = []
    for name, job in c.loaded.config.jobs.items():
        zone = job.timezone or c.loaded.config.timezone or "UTC"
        runs = newest[name]
        listed.append(
            Listed(
                name,
                job.action_kind.value,
                job.schedule,
                zone,
                next_fire(job.schedule, now, zone),
                next((r for r in runs if not r.running), None),
                next((r for r in runs if r.running), None),
            )
        )
    if fmt == "json":
        click.echo(json.dumps(jobs_json(listed), indent=2))
    else:
        click.echo(jobs_text(listed, c.tz, now))


@jobs.command()
@click.argument("name")
@as_option
@config_option
@click.pass_context
def run(ctx: click.Context, name: str, as_: str | None) -> None:
    """Run job NAME now, in the foreground, showing its output; recorded like a scheduled
    run (the exit code is its status). Refused while it runs elsewhere."""
    from opsbook.jobs.records import Trigger
    from opsbook.jobs.run import argv_of, run_job
    from opsbook.status import Status
    from opsbook.timefmt import calendar_clock
    from opsbook.units import format_duration

    c = opened(ctx)
    job = _job(c, name)
    path = str(c.loaded.path) if c.loaded.path is not None else None
    what = (
        " ".join(argv_of(name, job, path))
        if job.action_kind.value == "command"
        else (f"the built-in action {job.action_kind.value}")
    )
    click.echo(
        f"job {name}: running {c.loaded.redactor(what)} (timeout {format_duration(job.timeout)})",
        err=True,
    )

    def show(stream: str, line: str) -> None:
        click.echo(c.loaded.redactor(line), err=stream == "stderr")

    done = run_job(
        c.engine,
        name,
        job,
        config_path=path,
        trigger=Trigger.MANUAL,
        slot=None,
        actor=actor(as_),
        clock=calendar_clock(),
        on_line=show,
        redact=c.loaded.redactor,
    )
    assert done.status is not None
    took = format_duration(done.duration or 0.0)
    click.echo(f"job {name} {done.status.name} in {took}: {done.summary} (run {done.id})")
    _tell(c, name, job, done)
    ctx.exit(int(done.status) if done.status is not Status.OK else 0)


def _tell(c: Opened, name: str, job: JobBase, done: Run) -> None:
    from opsbook.paging.reports import tell

    queued = tell(
        c.engine,
        c.loaded.config.paging,
        c.loaded.config.service,
        name,
        job,
        done,
        redact=c.loaded.redactor,
        now=c.now(),
    )
    if queued is not None:
        click.echo(
            f"report queued for {job.notify} (opsbook serve delivers it)"
            if queued
            else f"nobody in {job.notify} can be reached for the report",
            err=True,
        )


@jobs.command()
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=30, show_default=True)
@format_option("table", "json")
@config_option
@click.pass_context
def history(ctx: click.Context, name: str | None, limit: int, fmt: str) -> None:
    """Recorded runs, newest first: of job NAME, or of every job."""
    from opsbook.jobs import records
    from opsbook.output.jobs import history_text, run_json

    c = opened(ctx)
    if name is not None and name not in c.loaded.config.jobs:
        _job(c, name)  # says which jobs exist
    found = records.runs(c.engine, name, limit)
    if fmt == "json":
        click.echo(json.dumps({"runs": [run_json(r) for r in found]}, indent=2))
    else:
        click.echo(history_text(found, c.tz))


@jobs.command()
@click.argument("run_id", type=int)
@format_option("table", "json")
@config_option
@click.pass_context
def show(ctx: click.Context, run_id: int, fmt: str) -> None:
    """One recorded run in full: its summary, report and the tail of its output."""
    from opsbook.errors import UsageError
    from opsbook.jobs import records
    from opsbook.output.jobs import run_json, run_text

    c = opened(ctx)
    found = records.get(c.engine, run_id)
    if found is None:
        raise UsageError(f"no job run {run_id} (opsbook jobs history lists them)")
    if fmt == "json":
        click.echo(json.dumps(run_json(found, output=True), indent=2))
    else:
        click.echo(run_text(found, c.tz))


@jobs.command(name="exec")
@click.argument("name")
@format_option("table", "json")
@config_option
@click.pass_context
def exec_(ctx: click.Context, name: str, fmt: str) -> None:
    """Do job NAME's built-in action here and now, unrecorded, and print its report (what
    `opsbook jobs run` and serve run in a child process). Exit code: its status."""
    from opsbook.config.loader import load_config
    from opsbook.output.jobs import action_text
    from opsbook.routines.dispatch import perform

    loaded = load_config(config_path(ctx))
    job = named(loaded.config.jobs, name, "job", loaded.source)
    report = perform(name, job, loaded)
    if fmt == "json":
        click.echo(loaded.redactor(json.dumps(report.to_json(), indent=2)))
    else:
        click.echo(loaded.redactor(action_text(report)))
    ctx.exit(int(report.status))
