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
    from opsbook.output.table import Cell, Column, Style, render
    from opsbook.status import Status
    from opsbook.timefmt import human, iso, parse_since
    from opsbook.units import format_duration

    c = opened(ctx)
    if check not in c.loaded.config.checks:
        raise UsageError(f"no check named {check!r} in {c.loaded.source}")
    start = parse_since(since, c.now())
    found = read_history(c.incidents.engine, check, start)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "check": check,
                    "since": iso(start),
                    "results": found.total,
                    "uptime": found.uptime,
                    "counts": {s.name: found.counts[s] for s in Status},
                    "periods": [
                        {
                            "status": p.status.name,
                            "from": iso(p.start),
                            "until": iso(p.end),
                            "results": p.results,
                            "message": p.message,
                        }
                        for p in found.periods
                    ],
                },
                indent=2,
            )
        )
        return
    if not found.total:
        click.echo(f"{check}: no results since {human(start, c.tz)} (is opsbook serve running?)")
        return
    assert found.uptime is not None
    counts = ", ".join(f"{found.counts[s]} {s.name}" for s in Status if found.counts[s])
    click.echo(
        f"{check}: {found.uptime * 100:.2f}% OK since {human(start, c.tz)} "
        f"({found.total} results: {counts})"
    )
    style: dict[Status, Style] = {
        Status.OK: "green",
        Status.WARNING: "yellow",
        Status.CRITICAL: "red",
        Status.UNKNOWN: "magenta",
    }
    rows: list[list[Cell | str]] = [
        [
            Cell(p.status.name, style[p.status]),
            human(p.start, c.tz),
            human(p.end, c.tz),
            format_duration((p.end - p.start).total_seconds()),
            str(p.results),
            p.message,
        ]
        for p in found.periods[-20:]
    ]
    columns = [Column("STATUS"), Column("FROM"), Column("TO"), Column("FOR", align="right")]
    columns += [Column("RESULTS", align="right"), Column("FIRST MESSAGE", wrap=True)]
    click.echo(render(columns, rows))
