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
@click.option(
    "--metric",
    "metric",
    metavar="NAME",
    help="One measurement over time ('value' is the main one; names as listed without it).",
)
@click.option(
    "--step",
    default=None,
    metavar="DURATION",
    help="With --metric: the length of each row (default: the span in about 24 steps).",
)
@format_option()
@config_option
@click.pass_context
def history(
    ctx: click.Context, check: str, since: str, metric: str | None, step: str | None, fmt: str
) -> None:
    """Uptime, the periods of each status and every measurement, from what opsbook serve
    recorded."""
    from opsbook.alerts import series as store
    from opsbook.alerts.history import read_history
    from opsbook.errors import UsageError
    from opsbook.output import history as out
    from opsbook.timefmt import parse_since
    from opsbook.units import parse_duration

    c = opened(ctx)
    base = check.rpartition("@")[0] or check  # disk@monitor-b: one host's disk (docs/ha.md)
    if base not in c.loaded.config.checks:
        raise UsageError(f"no check named {base!r} in {c.loaded.source}")
    start, now = parse_since(since, c.now()), c.now()
    if metric is not None:
        try:
            seconds = parse_duration(step) if step else None
        except ValueError as exc:
            raise UsageError(f"--step: {exc}") from None
        if seconds is not None and seconds < 1:
            raise UsageError("--step: expected 1s or more")
        span = (now - start).total_seconds()
        every = seconds or max(60.0, round(span / 24 / 60) * 60)
        known = {s.name for s in store.summaries(c.engine, check, start)}
        if metric not in known:
            listed = ", ".join(sorted(known)) or "none recorded yet"
            raise UsageError(f"--metric: {check} has no measurement {metric!r} since "
                             f"{since} (it has: {listed})")  # fmt: skip
        points = store.series(c.engine, check, metric, start, now, every)
        if fmt == "json":
            click.echo(json.dumps(out.series_json(check, metric, every, points), indent=2))
        else:
            click.echo(out.series_text(check, metric, every, points, c.tz))
        return
    found = read_history(c.engine, check, start)
    measured = store.summaries(c.engine, check, start)
    if fmt == "json":
        click.echo(json.dumps(out.history_json(found, measured), indent=2))
    else:
        click.echo(out.history_text(found, c.tz, measured))
