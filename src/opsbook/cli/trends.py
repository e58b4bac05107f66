"""``opsbook trends show``: the trend rules judged now, from what opsbook serve recorded."""

from __future__ import annotations

import json

import click

from opsbook.cli.context import opened
from opsbook.cli.options import config_option, format_option


@click.group()
def trends() -> None:
    """Degradation against the week before, and spikes out of the usual band (trends:)."""


@trends.command()
@click.option("--all", "show_all", is_flag=True, help="Also the steady and the still learning.")
@format_option()
@config_option
@click.pass_context
def show(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """Judge every trend rule now; exit 1 when one finds a degradation or a spike."""
    from opsbook.alerts.trends import Verdict, evaluate
    from opsbook.errors import UsageError
    from opsbook.output.trends import trends_json, trends_text

    c = opened(ctx)
    rules = c.loaded.config.trends
    if not (rules.degradation or rules.spikes):
        raise UsageError(
            f"{c.loaded.source} has no trends: rules (see docs/configuration.md#trends)"
        )
    found = evaluate(c.engine, rules, c.now())
    if fmt == "json":
        click.echo(json.dumps(trends_json(found), indent=2))
    else:
        shown = found if show_all else [f for f in found if f.verdict is Verdict.DEGRADED]
        click.echo(trends_text(shown, len(found)))
    ctx.exit(1 if any(f.verdict is Verdict.DEGRADED for f in found) else 0)
