"""``opsbook logs``: the runbook's log questions (tail -f, grep " 40[0-9] ") answered."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from opsbook.cli.options import config_option, config_path

DEFAULT_ACCESS = "/var/log/nginx/access.log"
DEFAULT_ERRORS = "/var/log/nginx/error.log"


@click.group()
def logs() -> None:
    """Access-log reports and error-log patterns."""


def _when(option: str, text: str | None, now: datetime) -> datetime | None:
    from opsbook.errors import UsageError
    from opsbook.timefmt import parse_since

    if text is None:
        return None
    try:
        return parse_since(text, now)
    except UsageError:
        raise UsageError(
            f"{option} {text!r}: expected a duration back from now (1h, 30m, 7d) or a date "
            "(2026-11-01) or time (2026-11-01T09:00)"
        ) from None


def _files(given: tuple[str, ...], configured: tuple[str, ...], default: str) -> tuple[str, ...]:
    from opsbook.errors import UsageError

    if given:
        return given
    if configured:
        return configured
    if Path(default).exists():
        return (default,)
    raise UsageError(
        f"no log files given and {default} does not exist; pass FILE... (- for stdin) or set "
        "logs: in opsbook.yaml"
    )


def _config(ctx: click.Context):  # type: ignore[no-untyped-def]
    from opsbook.config.loader import load_config

    return load_config(config_path(ctx))


@logs.command()
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option("--since", metavar="WHEN", help="Only requests from then: 1h, 30m, or a date/time.")
@click.option("--until", metavar="WHEN", help="Only requests before then.")
@click.option(
    "--log-format",
    metavar="FORMAT",
    help="nginx log_format string, or combined / timed (default: logs.log_format, else detected).",
)
@click.option(
    "--top", type=click.IntRange(1, 1000), default=20, show_default=True, help="Rows per top list."
)
@click.option("--burst", type=click.IntRange(1), default=20, show_default=True,
              help="401/403/404 in one minute that make a client suspicious.")  # fmt: skip
@click.option("--format", "-f", "fmt", type=click.Choice(("table", "json", "html")),
              default="table", show_default=True, help="Output format.")  # fmt: skip
@click.option("--output", "-o", metavar="FILE", help="Write the report here instead of stdout.")
@config_option
@click.pass_context
def access(
    ctx: click.Context,
    files: tuple[str, ...],
    since: str | None,
    until: str | None,
    log_format: str | None,
    top: int,
    burst: int,
    fmt: str,
    output: str | None,
) -> None:
    """Traffic, status shares, latency percentiles per route, top clients, suspicious clients.

    Reads nginx access logs (plain, gzip-rotated, or - for stdin) in the combined format,
    combined plus $request_time / $upstream_response_time, or any --log-format.
    """
    from opsbook.logs.access import AccessQuery, analyse
    from opsbook.logs.formats import compile_format
    from opsbook.logs.report import Thresholds
    from opsbook.timefmt import zone

    loaded = _config(ctx)
    settings = loaded.config.logs
    layout = log_format or settings.log_format
    if layout:
        compile_format(layout)  # a bad format is a usage error before any file is read
    now = datetime.now(UTC)
    query = AccessQuery(
        files=_files(files, settings.access, DEFAULT_ACCESS),
        log_format=layout,
        since=_when("--since", since, now),
        until=_when("--until", until, now),
        top=top,
        thresholds=Thresholds(burst_per_minute=burst),
    )
    report = analyse(query)
    if fmt == "json":
        from opsbook.output.logs import access_json

        text = json.dumps(access_json(report), indent=2)
    elif fmt == "html":
        from opsbook.output.logs_html import access_html

        text = access_html(report, zone(loaded.config.timezone))
    else:
        from opsbook.output.logs import access_table

        text = access_table(report, zone(loaded.config.timezone))
    if output:
        Path(output).write_text(text + "\n")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)
    if report.requests == 0 and report.unparsed:
        sys.exit(1)  # nothing parsed at all: the format is almost certainly wrong
