"""``opsbook config``: look at the configuration opsbook will use."""

from __future__ import annotations

import click

from opsbook.cli.options import config_option, config_path, format_option


@click.group()
def config() -> None:
    """Validate and show opsbook.yaml."""


@config.command()
@format_option("table", "json")
@config_option
@click.pass_context
def validate(ctx: click.Context, fmt: str) -> None:
    """Check opsbook.yaml and print what was understood (secrets masked).

    Exit 0 when valid, 3 with file:line, key and what was expected when not.
    """
    import json

    from opsbook.config.loader import load_config
    from opsbook.config.show import understood

    loaded = load_config(config_path(ctx))
    doc = understood(loaded)
    if fmt == "json":
        click.echo(loaded.redactor(json.dumps({"valid": True, **doc}, indent=2)))
        return
    import yaml

    count = len(doc["checks"])
    click.echo(f"{loaded.source}: valid, {count} check{'s' if count != 1 else ''}")
    for note in loaded.notes:
        click.echo(f"  {note}")
    body = {"service": doc["service"], "checks": doc["checks"]}
    text = yaml.safe_dump(body, sort_keys=False, default_flow_style=False, allow_unicode=True)
    click.echo(loaded.redactor(text.rstrip()))
