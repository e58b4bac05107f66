"""``opsbook logs``: the runbook's log questions (tail -f, grep " 40[0-9] ") answered."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from opsbook.cli.context import actor, as_option
from opsbook.cli.options import config_option, config_path
from opsbook.cli.startup import quietly

if TYPE_CHECKING:
    from opsbook.config.loader import LoadedConfig

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


def _container_log(ctx: click.Context, name: str, socket: str, stream: str) -> str:
    """The container's whole log stream (``stream``: stdout or stderr) in a private temporary
    file the log engine reads like any log; removed when the command ends."""
    import os
    import tempfile

    from opsbook.clients.docker import Docker

    api = Docker(socket, timeout=60)
    found = api.inspect(name)
    tty = bool((found.get("Config") or {}).get("Tty"))
    lines = [line for s, line in api.logs(name, tail=None, tty=tty) if tty or s == stream]
    fd, path = tempfile.mkstemp(prefix="opsbook-container-", suffix=".log")
    with os.fdopen(fd, "w") as out:
        out.write("".join(f"{line}\n" for line in lines))
    ctx.call_on_close(Path(path).unlink)
    return path


def _config(ctx: click.Context) -> LoadedConfig:
    with quietly():
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
@click.option("--status", "statuses", multiple=True, metavar="CODE",
              help="Only these responses: a code (404) or a class (5xx); repeatable.")  # fmt: skip
@click.option("--path", "path_prefix", metavar="PREFIX", help="Only paths starting with PREFIX.")
@click.option("--forwarded-for", is_flag=True, default=None,
              help="Clients from $http_x_forwarded_for (behind a trusted proxy only).")  # fmt: skip
@click.option("--output", "-o", metavar="FILE", help="Write the report here instead of stdout.")
@click.option("--container", metavar="NAME",
              help="Read a container's log stream (Docker, Podman) instead of files.")  # fmt: skip
@click.option("--docker-socket", metavar="PATH", default="/var/run/docker.sock",
              show_default=True, help="The Engine API socket, with --container.")  # fmt: skip
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
    statuses: tuple[str, ...],
    path_prefix: str | None,
    forwarded_for: bool | None,
    output: str | None,
    container: str | None,
    docker_socket: str,
) -> None:
    """Traffic, status shares, latency percentiles per route, top clients, suspicious clients.

    Reads nginx access logs (plain, gzip-rotated, or - for stdin) in the combined format,
    combined plus $request_time / $upstream_response_time, or any --log-format.
    """
    with quietly():
        from opsbook.errors import ConfigError
        from opsbook.logs.access import AccessQuery, analyse, parse_statuses
        from opsbook.logs.report import Thresholds
        from opsbook.timefmt import zone

    loaded = _config(ctx)
    settings = loaded.config.logs
    layout = log_format or settings.log_format
    now = datetime.now(UTC)
    if container is not None:  # nginx's image sends its access log to stdout
        files = (_container_log(ctx, container, docker_socket, "stdout"),)
    query = AccessQuery(
        files=_files(files, settings.access, DEFAULT_ACCESS),
        log_format=layout,
        since=_when("--since", since, now),
        until=_when("--until", until, now),
        top=top,
        thresholds=Thresholds(burst_per_minute=burst),
        statuses=parse_statuses(statuses),
        path_prefix=path_prefix,
        forwarded=settings.forwarded_for if forwarded_for is None else forwarded_for,
        probe_paths=settings.probe_paths,
        zone=zone(loaded.config.timezone),
    )
    try:  # a bad format or probe path stops it before any file is read
        report = analyse(query)
    except ConfigError as exc:  # logs.probe_paths: say which file holds it
        raise ConfigError(f"{loaded.source}: {exc}") from None
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


@logs.command()
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option(
    "--baseline", metavar="NAME", help="Compare with this saved baseline (or save as it)."
)
@click.option("--save", is_flag=True, help="Save these templates as --baseline NAME.")
@click.option("--since", metavar="WHEN", help="Only entries from then: 1h, 30m, or a date/time.")
@click.option(
    "--level", metavar="LEVEL", help="Only entries at this level or worse (warn, error…)."
)
@click.option("--jump", type=click.FloatRange(1.0), default=3.0, show_default=True,
              help="A known template whose rate rose this many times is flagged.")  # fmt: skip
@click.option(
    "--top", type=click.IntRange(1, 10000), default=50, show_default=True, help="Templates shown."
)
@click.option("--format", "-f", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="Output format.")  # fmt: skip
@click.option("--container", metavar="NAME",
              help="Read a container's log stream (Docker, Podman) instead of files.")  # fmt: skip
@click.option("--docker-socket", metavar="PATH", default="/var/run/docker.sock",
              show_default=True, help="The Engine API socket, with --container.")  # fmt: skip
@as_option
@config_option
@click.pass_context
def errors(
    ctx: click.Context,
    files: tuple[str, ...],
    baseline: str | None,
    save: bool,
    since: str | None,
    level: str | None,
    jump: float,
    top: int,
    fmt: str,
    container: str | None,
    docker_socket: str,
    as_: str | None,
) -> None:
    """Group error-log messages into templates; flag new ones against a saved baseline.

    Exit status: 0, or 1 when compared with a baseline and a template is new or jumped.
    """
    from opsbook.errors import UsageError
    from opsbook.logs.errorlog import parse_level, read_entries
    from opsbook.logs.templates import Baseline, mine
    from opsbook.timefmt import zone

    if save and not baseline:
        raise UsageError("--save needs --baseline NAME: the name to save the templates as")
    try:
        min_level = parse_level(level) if level else None
    except ValueError as exc:
        raise UsageError(f"--level: {exc}") from None
    loaded = _config(ctx)
    if container is not None:  # nginx's image sends its error log to stderr
        files = (_container_log(ctx, container, docker_socket, "stderr"),)
    names = _files(files, loaded.config.logs.errors, DEFAULT_ERRORS)
    store = None
    saved = None
    if baseline:
        from opsbook.logs import baselines
        from opsbook.store.open import open_store

        store = open_store(loaded.config.store)
        ctx.call_on_close(store.engine.dispose)
        if not save:
            saved = baselines.load(store.engine, baseline)
    now = datetime.now(UTC)
    entries = read_entries(names, _when("--since", since, now), zone(loaded.config.timezone))
    mined = mine(entries, files=names, baseline=saved, min_level=min_level, jump=jump,
                 with_state=save)  # fmt: skip
    report = mined.report
    if save and store is not None and baseline:
        from opsbook.logs import baselines

        record = Baseline(baseline, now, report.entries, report.span_seconds, mined.state)
        baselines.save(store.engine, record, len(report.templates), actor(as_))
    if fmt == "json":
        from opsbook.output.logs_errors import errors_json

        data = errors_json(report, top=top, saved_as=baseline if save else None)
        click.echo(json.dumps(data, indent=2))
    else:
        from opsbook.output.logs_errors import errors_table

        click.echo(errors_table(report, zone(loaded.config.timezone), top))
        if save:
            click.echo(f"saved {len(report.templates)} template(s) as baseline {baseline!r}")
    if saved is not None and report.flagged:
        sys.exit(1)


@logs.command()
@click.option("--format", "-f", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="Output format.")  # fmt: skip
@config_option
@click.pass_context
def baselines(ctx: click.Context, fmt: str) -> None:
    """The saved error-template baselines."""
    from opsbook.logs import baselines as saved_baselines
    from opsbook.output.table import Column, render
    from opsbook.store.open import open_store
    from opsbook.timefmt import human, zone

    loaded = _config(ctx)
    store = open_store(loaded.config.store)
    ctx.call_on_close(store.engine.dispose)
    found = saved_baselines.listing(store.engine)
    if fmt == "json":
        from opsbook.output.logs_errors import baseline_json

        click.echo(json.dumps([baseline_json(b) for b in found], indent=2))
        return
    if not found:
        click.echo("no baselines yet: opsbook logs errors FILE --baseline NAME --save")
        return
    tz = zone(loaded.config.timezone)
    click.echo(
        render(
            [Column("name"), Column("saved"), Column("by"), Column("entries", "right"),
             Column("templates", "right")],
            [[b.name, human(b.saved_at, tz), b.saved_by, str(b.entries), str(b.templates)]
             for b in found],
        )
    )  # fmt: skip


@logs.command()
@click.argument("file", required=False)
@click.option("--every", default="5s", show_default=True, metavar="DURATION",
              help="How often to print a line, and the stretch each line covers.")  # fmt: skip
@click.option("--log-format", metavar="FORMAT", help="As for logs access.")
@config_option
@click.pass_context
def tail(ctx: click.Context, file: str | None, every: str, log_format: str | None) -> None:
    """A live line per interval: requests/s, 5xx share, p50/p95; Ctrl-C to stop.

    What `tail -f access.log` was for during an incident, without reading every line.
    """
    import time

    from opsbook.errors import UsageError
    from opsbook.logs.tracking import AccessTracker
    from opsbook.output.table import styled
    from opsbook.timefmt import zone
    from opsbook.units import parse_duration

    try:
        seconds = parse_duration(every)
    except ValueError:
        raise UsageError(f"--every {every!r}: expected a duration such as 5s or 1m") from None
    if seconds < 1:
        raise UsageError(f"--every {every!r}: expected 1s or more")
    loaded = _config(ctx)
    name = _files((file,) if file else (), loaded.config.logs.access, DEFAULT_ACCESS)[0]
    watch = AccessTracker(name, log_format or loaded.config.logs.log_format, tail_bytes=0)
    tz = zone(loaded.config.timezone)
    watch.read_new()  # start at the end, like tail -f
    click.echo(f"following {name} (every {every}; Ctrl-C to stop)", err=True)
    try:
        while True:
            time.sleep(seconds)
            now = datetime.now(UTC)
            # The lines read in this interval (log times have 1 s resolution: a window by
            # timestamp would drop or double-count lines at the edges).
            w = watch.stats(watch.read_new(), seconds)
            share = 100 * w.error_share
            p95 = f"  p95 {w.p95 * 1000:.0f} ms" if w.p95 is not None else ""
            line = (
                f"{now.astimezone(tz):%H:%M:%S}  {w.rate:7.1f} req/s  5xx {share:5.1f} %"
                f"{p95}  ({w.requests} requests)"
            )
            click.echo(styled(line, "red") if share >= 5 else line)
    except KeyboardInterrupt:
        return
