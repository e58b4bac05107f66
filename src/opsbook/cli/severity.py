"""``opsbook severity``: the severity policy in force."""

from __future__ import annotations

import json

import click

from opsbook.cli.context import policy_for
from opsbook.cli.options import config_option, format_option


@click.group()
def severity() -> None:
    """The severity levels: definitions, response targets, who is told, escalation."""


@severity.command("list")
@format_option()
@config_option
@click.pass_context
def list_(ctx: click.Context, fmt: str) -> None:
    """Show the four severities (the runbook's, as opsbook.yaml may redefine them)."""
    from opsbook.output.incidents import severities_table, severity_dict

    _, policy = policy_for(ctx)
    if fmt == "json":
        click.echo(json.dumps([severity_dict(s) for s in policy.levels], indent=2))
    else:
        click.echo(severities_table(policy))
