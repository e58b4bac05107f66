"""``opsbook incident``: open, work, resolve and review incidents."""

from __future__ import annotations

import json
from typing import Any

import click

from opsbook.cli.context import Opened, actor, as_option, opened
from opsbook.cli.options import config_option, format_option, write_output

PHASE_CHOICES = ["triage", "investigating", "contained", "recovering", "reviewed"]


@click.group()
def incident() -> None:
    """Incidents: severities with response clocks, a timeline, post-incident reports."""


def _echo_json(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2, default=str))


def _done(c: Opened, incident_id: str, fmt: str, message: str) -> None:
    """After a change: the incident as JSON, or one line for people."""
    from opsbook.output.incidents import incident_dict

    if fmt == "json":
        _echo_json(incident_dict(c.incidents.get(incident_id), c.policy, c.now()))
    else:
        click.echo(message)


@incident.command("open")
@click.option(
    "--sev", "-s", "sev", required=True, metavar="1-4", help="Severity: 1 … 4 or SEV-1 … SEV-4."
)
@click.option("--title", "-t", required=True, help="What is wrong, in a line.")
@click.option(
    "--service", metavar="NAME", help="Affected service (default: service: in opsbook.yaml)."
)
@click.option("--summary", help="A first summary for the report.")
@as_option
@format_option()
@config_option
@click.pass_context
def open_(
    ctx: click.Context,
    sev: str,
    title: str,
    service: str | None,
    summary: str | None,
    as_: str | None,
    fmt: str,
) -> None:
    """Open an incident; prints its ID (INC-YYYY-MM-DD-N)."""
    from opsbook.incidents.severity import parse_severity
    from opsbook.output.incidents import incident_dict
    from opsbook.timefmt import human
    from opsbook.units import format_duration

    level = parse_severity(sev)
    c = opened(ctx)
    new = c.incidents.open(
        title=title,
        severity=level,
        service=service or c.loaded.config.service,
        actor=actor(as_),
        summary=summary,
    )
    if fmt == "json":
        _echo_json(incident_dict(new, c.policy, c.now()))
        return
    click.echo(new.id)
    s = c.policy.get(level)
    click.echo(
        f"{s.label} {s.name}: respond within {format_duration(s.response)}, by "
        f"{human(new.response_due_at, c.tz)}; tell: {s.communication}; escalate: {s.escalation}",
        err=True,
    )


@incident.command()
@click.argument("incident_id", metavar="ID")
@as_option
@format_option()
@config_option
@click.pass_context
def ack(ctx: click.Context, incident_id: str, as_: str | None, fmt: str) -> None:
    """Acknowledge: someone is on it. Stops the response clock."""
    from opsbook.incidents.clocks import response_state
    from opsbook.units import format_duration

    c = opened(ctx)
    done = c.incidents.acknowledge(incident_id, actor(as_))
    assert done.acknowledged_at is not None
    took = format_duration((done.acknowledged_at - done.opened_at).total_seconds())
    state = response_state(done, c.policy, c.now()).value
    _done(
        c,
        incident_id,
        fmt,
        f"{done.id} acknowledged by {done.acknowledged_by} after {took} (response target {state})",
    )


@incident.command()
@click.argument("incident_id", metavar="ID")
@click.argument("text")
@as_option
@format_option()
@config_option
@click.pass_context
def note(ctx: click.Context, incident_id: str, text: str, as_: str | None, fmt: str) -> None:
    """Add a note to the timeline."""
    c = opened(ctx)
    c.incidents.note(incident_id, text, actor(as_))
    _done(c, incident_id, fmt, f"{incident_id}: note added")


@incident.command()
@click.argument("incident_id", metavar="ID")
@click.argument("level", metavar="LEVEL")
@click.option("--why", required=True, help="Why the severity changes.")
@as_option
@format_option()
@config_option
@click.pass_context
def sev(
    ctx: click.Context, incident_id: str, level: str, why: str, as_: str | None, fmt: str
) -> None:
    """Change the severity (1-4). A raise restarts the response clock."""
    from opsbook.incidents.severity import parse_severity
    from opsbook.timefmt import human

    c = opened(ctx)
    changed = c.incidents.change_severity(incident_id, parse_severity(level), why, actor(as_))
    _done(
        c,
        incident_id,
        fmt,
        f"{changed.id} is now SEV-{changed.severity}; respond by "
        f"{human(changed.response_due_at, c.tz)}",
    )


@incident.command()
@click.argument("incident_id", metavar="ID")
@click.argument("phase", type=click.Choice(PHASE_CHOICES))
@click.option(
    "--force", is_flag=True, help="reviewed: even with the report's review still to write."
)
@as_option
@format_option()
@config_option
@click.pass_context
def phase(
    ctx: click.Context, incident_id: str, phase: str, force: bool, as_: str | None, fmt: str
) -> None:
    """Move to a phase: triage, investigating, contained, recovering; reviewed once resolved
    and the report's Summary, Users Affected, Business Impact and Root Cause are written."""
    from opsbook.incidents.model import Phase

    c = opened(ctx)
    moved = c.incidents.set_phase(incident_id, Phase(phase), actor(as_), force=force)
    _done(c, incident_id, fmt, f"{moved.id} is {moved.phase.value}")


@incident.command()
@click.argument("incident_id", metavar="ID")
@click.option("--why", required=True, help="How it was resolved.")
@as_option
@format_option()
@config_option
@click.pass_context
def resolve(ctx: click.Context, incident_id: str, why: str, as_: str | None, fmt: str) -> None:
    """Resolve; adds a runbook-update action item if there is none."""
    from opsbook.units import format_duration

    c = opened(ctx)
    done = c.incidents.resolve(incident_id, why, actor(as_))
    assert done.resolved_at is not None
    took = format_duration((done.resolved_at - done.opened_at).total_seconds())
    _done(
        c,
        incident_id,
        fmt,
        f"{done.id} resolved after {took}; next: the report (opsbook incident report {done.id})",
    )


@incident.command()
@click.argument("incident_id", metavar="ID")
@click.option("--why", default="", help="Why it is back.")
@as_option
@format_option()
@config_option
@click.pass_context
def reopen(ctx: click.Context, incident_id: str, why: str, as_: str | None, fmt: str) -> None:
    """Reopen a resolved incident (back to investigating)."""
    c = opened(ctx)
    again = c.incidents.reopen(incident_id, actor(as_), why)
    _done(c, incident_id, fmt, f"{again.id} reopened; it is {again.phase.value}")


@incident.command()
@click.argument("incident_id", metavar="ID")
@click.argument("person")
@as_option
@format_option()
@config_option
@click.pass_context
def assign(ctx: click.Context, incident_id: str, person: str, as_: str | None, fmt: str) -> None:
    """Make PERSON the incident commander."""
    c = opened(ctx)
    done = c.incidents.assign(incident_id, person, actor(as_))
    _done(c, incident_id, fmt, f"{done.id} assigned to {done.commander}")


@incident.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only incidents not yet resolved.")
@click.option(
    "--sev", "sevs", multiple=True, metavar="LEVEL", help="Only this severity (repeatable)."
)
@click.option("--since", metavar="WHEN", help="Opened since: 7d, 24h, or a date (2026-11-01).")
@format_option()
@config_option
@click.pass_context
def list_(
    ctx: click.Context, open_only: bool, sevs: tuple[str, ...], since: str | None, fmt: str
) -> None:
    """List incidents, newest first, with their response clocks (breached, at risk…)."""
    from opsbook.incidents.severity import parse_severity
    from opsbook.output.incidents import incident_dict, incidents_table
    from opsbook.timefmt import parse_since

    levels = [parse_severity(s) for s in sevs]
    c = opened(ctx)
    now = c.now()
    found = c.incidents.list(
        open_only=open_only,
        severities=levels,
        since=parse_since(since, now) if since else None,
    )
    if fmt == "json":
        _echo_json([incident_dict(i, c.policy, now) for i in found])
    elif found:
        click.echo(incidents_table(found, c.policy, now, c.tz))
    else:
        click.echo("no incidents" + (" open" if open_only else ""), err=True)


@incident.command()
@click.argument("incident_id", metavar="ID")
@format_option()
@config_option
@click.pass_context
def show(ctx: click.Context, incident_id: str, fmt: str) -> None:
    """One incident with its whole timeline and action items."""
    from opsbook.incidents.records import read_timeline
    from opsbook.output.incidents import action_dict, entry_dict, incident_dict, incident_text

    c = opened(ctx)
    found = c.incidents.get(incident_id)
    entries = read_timeline(c.engine, [incident_id])[incident_id]
    actions = c.actions.list(incident_id=incident_id)
    now = c.now()
    suggest = _suggested(c, incident_id)
    if fmt == "json":
        doc = incident_dict(found, c.policy, now)
        doc["timeline"] = [entry_dict(e) for e in entries]
        doc["actions"] = [action_dict(a, now.date()) for a in actions]
        doc["suggested_actions"] = suggest
        _echo_json(doc)
    else:
        click.echo(incident_text(found, entries, actions, c.policy, now, c.tz))
        if suggest and found.is_open:
            click.echo("\nsuggested actions (they ask first, and go on the timeline):")
            for name in suggest:
                about = c.loaded.config.actions[name].description
                click.echo(f"  opsbook incident act {incident_id} {name}"
                           + (f"   # {about}" if about else ""))  # fmt: skip


def _suggested(c: Opened, incident_id: str) -> list[str]:
    from opsbook.playbook.suggest import for_incident

    return for_incident(c.engine, c.loaded.config.actions, incident_id)


@incident.command()
@click.option(
    "--since",
    default="90d",
    show_default=True,
    metavar="WHEN",
    help="Incidents opened since: 90d, 24h, or a date.",
)
@format_option()
@config_option
@click.pass_context
def stats(ctx: click.Context, since: str, fmt: str) -> None:
    """Per severity: count, MTTA and MTTR (median, p90), acknowledged within target, breaches."""
    from opsbook.incidents.clocks import stats as compute
    from opsbook.incidents.records import read_timeline
    from opsbook.output.incidents import stats_dict, stats_table
    from opsbook.timefmt import human, parse_since

    c = opened(ctx)
    now = c.now()
    start = parse_since(since, now)
    found = c.incidents.list(since=start)
    timelines = read_timeline(c.engine, [i.id for i in found])
    rows = compute(found, timelines, c.policy, now)
    if fmt == "json":
        _echo_json(stats_dict(rows, start))
    else:
        click.echo(f"incidents opened since {human(start, c.tz)}: {len(found)}")
        click.echo(stats_table(rows))


@incident.command()
@click.argument("incident_id", metavar="ID")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["markdown", "html"]),
    default="markdown",
    show_default=True,
)
@click.option("--output", "-o", metavar="FILE", help="Write to FILE instead of standard output.")
@config_option
@click.pass_context
def report(ctx: click.Context, incident_id: str, fmt: str, output: str | None) -> None:
    """The post-incident report (the runbook's template) filled from the record."""
    from opsbook.incidents.records import read_timeline
    from opsbook.incidents.report import render_html, render_markdown

    c = opened(ctx)
    found = c.incidents.get(incident_id)
    entries = read_timeline(c.engine, [incident_id])[incident_id]
    actions = c.actions.list(incident_id=incident_id)
    text = render_markdown(found, entries, actions, c.policy, c.tz, c.now())
    if fmt == "html":
        text = render_html(text, f"Incident Report: {found.id}")
    write_output(text, output)


def _register() -> None:
    from opsbook.cli import incident_actions, incident_edit, playbook

    incident.add_command(incident_edit.edit)
    incident.add_command(incident_actions.action)
    incident.add_command(playbook.act)


_register()
