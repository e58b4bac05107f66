"""``opsbook history CHECK``: how a check has been doing."""

from __future__ import annotations

import json

import click

from opsbook.cli.context import opened
from opsbook.cli.options import config_option, format_option


@click.command()
@click.argument("check")
@click.option(
    "--since", default="24h", show_default=True, metavar="WHEN", help="From: 24h, 7d, or a date."
)
@format_option()
@config_option
@click.pass_context
def history(ctx: click.Context, check: str, since: str, fmt: str) -> None:
    """Uptime and the periods of each status, from what opsbook serve recorded."""
    from opsbook.alerts.history import read_history
    from opsbook.errors import UsageError
    from opsbook.output.history import history_json, history_text
    from opsbook.timefmt import parse_since

    c = opened(ctx)
    if check not in c.loaded.config.checks:
        raise UsageError(f"no check named {check!r} in {c.loaded.source}")
    found = read_history(c.engine, check, parse_since(since, c.now()))
    if fmt == "json":
        click.echo(json.dumps(history_json(found), indent=2))
    else:
        click.echo(history_text(found, c.tz))
