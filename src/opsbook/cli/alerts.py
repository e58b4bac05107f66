"""``opsbook alerts``, ``opsbook silence …`` and ``opsbook history``: what the daemon saw."""

from __future__ import annotations

import json
from datetime import datetime

import click

from opsbook.cli.context import actor, as_option, opened
from opsbook.cli.options import config_option, format_option


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Include inactive alerts.")
@click.option("--events", "events", default=0, metavar="N", help="Also show the last N events.")
@format_option()
@config_option
@click.pass_context
def alerts(ctx: click.Context, show_all: bool, events: int, fmt: str) -> None:
    """Alerts: pending and firing (and with --all, the rest), SEV-4 ones included."""
    from opsbook.alerts.store import alerts_and_events
    from opsbook.output.alerts import alerts_json, alerts_table, event_line

    c = opened(ctx)
    found, recent = alerts_and_events(c.engine, events)
    shown = [a for a in found if show_all or a.state.value != "inactive"]
    if fmt == "json":
        click.echo(json.dumps(alerts_json(shown, recent if events else None), indent=2))
        return
    if not shown:
        click.echo("no alerts pending or firing" if not show_all else "no alerts yet", err=True)
    else:
        click.echo(alerts_table(shown, c.tz))
    for e in reversed(recent):
        click.echo(event_line(e, c.tz))


@click.group()
def silence() -> None:
    """Silences: alerts still record, but open no incident and page no one."""


@silence.command()
@click.argument("matcher", metavar="CHECK")
@click.option("--for", "for_", metavar="DURATION", help="How long: 30m, 2h (default 1h).")
@click.option(
    "--until",
    metavar="TIME",
    help="Until a time: 2026-12-01T18:00 (UTC unless an offset is given).",
)
@click.option("--why", required=True, help="Why it is silenced.")
@as_option
@format_option()
@config_option
@click.pass_context
def add(
    ctx: click.Context,
    matcher: str,
    for_: str | None,
    until: str | None,
    why: str,
    as_: str | None,
    fmt: str,
) -> None:
    """Silence a check or alert by name (globs like 'db*' work)."""
    from datetime import UTC, timedelta

    from opsbook.alerts.silences import Silences
    from opsbook.errors import UsageError
    from opsbook.units import parse_duration

    c = opened(ctx)
    now = c.now()
    if for_ and until:
        raise UsageError("give --for or --until, not both")
    if until:
        try:
            ends = datetime.fromisoformat(until)
        except ValueError:
            raise UsageError(
                f"--until {until!r}: expected a time such as 2026-12-01T18:00"
            ) from None
        ends = ends if ends.tzinfo else ends.replace(tzinfo=UTC)
    else:
        try:
            ends = now + timedelta(seconds=parse_duration(for_ or "1h"))
        except ValueError as exc:
            raise UsageError(f"--for: {exc}") from None
    known = set(c.loaded.config.checks)
    created = Silences(c.engine).add(matcher, ends_at=ends, why=why, actor=actor(as_), now=now)
    if fmt == "json":
        from opsbook.output.alerts import silence_json

        click.echo(json.dumps(silence_json(created), indent=2))
        return
    click.echo(f"silence #{created.id}: {matcher} until {created.ends_at:%Y-%m-%d %H:%M UTC}")
    if not any(ch == matcher for ch in known) and "*" not in matcher and "?" not in matcher:
        click.echo(
            f"note: no check named {matcher!r} in {c.loaded.source}; it may match "
            "alerts from Alertmanager or PagerDuty",
            err=True,
        )


@silence.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include ended and expired silences.")
@format_option()
@config_option
@click.pass_context
def list_(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """Active silences."""
    from opsbook.alerts.silences import Silences
    from opsbook.output.alerts import silence_json, silences_table

    c = opened(ctx)
    found = Silences(c.engine).list(now=c.now(), include_ended=show_all)
    if fmt == "json":
        click.echo(json.dumps([silence_json(s) for s in found], indent=2))
    elif not found:
        click.echo("no active silences", err=True)
    else:
        click.echo(silences_table(found, c.tz))


@silence.command()
@click.argument("silence_id", metavar="ID", type=int)
@as_option
@config_option
@click.pass_context
def expire(ctx: click.Context, silence_id: int, as_: str | None) -> None:
    """End silence #ID now."""
    from opsbook.alerts.silences import Silences

    c = opened(ctx)
    Silences(c.engine).expire(silence_id, actor=actor(as_), now=c.now())
    click.echo(f"silence #{silence_id} expired")
