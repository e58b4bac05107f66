"""``opsbook incident action``: follow-up work that outlives the incident."""

from __future__ import annotations

import json

import click

from opsbook.cli.context import actor, as_option, opened
from opsbook.cli.options import config_option, format_option

KINDS = ["fix", "runbook", "monitoring", "process"]


@click.group()
def action() -> None:
    """Action items: add, complete, list across incidents."""


@action.command()
@click.argument("incident_id", metavar="ID")
@click.argument("text")
@click.option("--owner", metavar="PERSON", help="Who will do it.")
@click.option("--due", metavar="DATE", help="A date (2026-12-15) or a time from today (7d).")
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default="fix",
    show_default=True,
    help="runbook: an update to the runbook, as the runbook asks after every incident.",
)
@as_option
@format_option()
@config_option
@click.pass_context
def add(
    ctx: click.Context,
    incident_id: str,
    text: str,
    owner: str | None,
    due: str | None,
    kind: str,
    as_: str | None,
    fmt: str,
) -> None:
    """Add an action item to an incident."""
    from opsbook.incidents.model import ActionKind
    from opsbook.output.incidents import action_dict
    from opsbook.timefmt import parse_due

    c = opened(ctx)
    today = c.now().date()
    item = c.actions.add(
        incident_id,
        text,
        actor(as_),
        owner=owner,
        due=parse_due(due, today) if due else None,
        kind=ActionKind(kind),
    )
    if fmt == "json":
        click.echo(json.dumps(action_dict(item, today), indent=2))
    else:
        click.echo(f"action #{item.id} added to {incident_id}")


@action.command()
@click.argument("action_id", metavar="ACTION", type=int)
@as_option
@format_option()
@config_option
@click.pass_context
def done(ctx: click.Context, action_id: int, as_: str | None, fmt: str) -> None:
    """Mark action item #ACTION done."""
    from opsbook.output.incidents import action_dict

    c = opened(ctx)
    item = c.actions.done(action_id, actor(as_))
    if fmt == "json":
        click.echo(json.dumps(action_dict(item, c.now().date()), indent=2))
    else:
        click.echo(f"action #{item.id} done ({item.incident_id})")


@action.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only items not done.")
@click.option("--overdue", is_flag=True, help="Only open items past their due date.")
@click.option("--incident", "incident_id", metavar="ID", help="Only this incident's items.")
@format_option()
@config_option
@click.pass_context
def list_(
    ctx: click.Context, open_only: bool, overdue: bool, incident_id: str | None, fmt: str
) -> None:
    """List action items across incidents."""
    from opsbook.output.incidents import action_dict, actions_table

    c = opened(ctx)
    today = c.now().date()
    if incident_id:
        c.incidents.get(incident_id)  # an unknown ID is an error, not an empty list
    items = c.actions.list(
        open_only=open_only, overdue_on=today if overdue else None, incident_id=incident_id
    )
    if fmt == "json":
        click.echo(json.dumps([action_dict(i, today) for i in items], indent=2))
    elif items:
        click.echo(actions_table(items, today))
    else:
        click.echo("no action items", err=True)
