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
    """Check opsbook.yaml and print everything it understood (secrets masked): checks,
    people and how each is reached, who is on call for two weeks, the minute each escalation
    level is paged per severity, channels, intake, server, backups, and the coverage report.

    Exit 0 when valid, 3 with file:line, key and what was expected when not; with paging
    configured, 1 for coverage holes past level 1 and 3 for one at level 1 (see
    opsbook oncall coverage).
    """
    import json
    from datetime import UTC, datetime

    from opsbook.config.loader import load_config
    from opsbook.output.oncall import coverage_lines
    from opsbook.output.understood import view
    from opsbook.paging.coverage import check
    from opsbook.timefmt import zone

    loaded = load_config(config_path(ctx))
    now = datetime.now(UTC)
    paging = loaded.config.paging
    cov = check(paging, loaded.config.timezone, now)
    doc = view(loaded, now, cov)
    code = cov.worst(paging.settings.strict) if cov.levels else 0
    if fmt == "json":
        click.echo(loaded.redactor(json.dumps({"valid": True, **doc}, indent=2)))
        ctx.exit(code)
    import yaml

    count = len(doc["checks"])
    click.echo(f"{loaded.source}: valid, {count} check{'s' if count != 1 else ''}")
    for note in loaded.notes:
        click.echo(f"  {note}")
    shown = {k: v for k, v in doc.items() if k not in ("source", "coverage") and v}
    text = yaml.safe_dump(shown, sort_keys=False, default_flow_style=False, allow_unicode=True)
    click.echo(loaded.redactor(text.rstrip()))
    if cov.levels:
        click.echo("coverage:")
        for line in coverage_lines(cov, zone(loaded.config.timezone), 28):
            click.echo(f"  {line}")
    ctx.exit(code)
