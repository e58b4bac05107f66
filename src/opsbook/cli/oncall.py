"""``opsbook oncall``: who is on call, now and ahead, and overrides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from opsbook.cli.context import actor, as_option, opened
from opsbook.cli.options import config_option, format_option
from opsbook.errors import UsageError


def _when(text: str | None, now: datetime, what: str) -> datetime:
    if not text:
        return now
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise UsageError(
            f"{what} {text!r}: expected a time such as 2026-12-05T18:00 "
            "(UTC unless an offset is given)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _layers(c: Any, schedule: str | None) -> list[Any]:
    from opsbook.paging.schedule import layers_of

    schedules = c.loaded.config.paging.schedules
    if not schedules:
        raise UsageError(f"{c.loaded.source} has no schedules: (see docs/configuration.md)")
    if schedule is not None and schedule not in schedules:
        raise UsageError(f"no schedule {schedule!r}; schedules are: {', '.join(schedules)}")
    names = [schedule] if schedule else list(schedules)
    tz = c.loaded.config.timezone
    return [layer for n in names for layer in layers_of(n, schedules[n], tz)]


@click.group()
def oncall() -> None:
    """Who is on call: rotations, layers, overrides."""


@oncall.command()
@click.argument("schedule", required=False)
@click.option("--at", "at", metavar="TIME", help="Another time than now (2026-12-05T18:00).")
@format_option()
@config_option
@click.pass_context
def now(ctx: click.Context, schedule: str | None, at: str | None, fmt: str) -> None:
    """Who covers each schedule (and layer) now, or --at a time."""
    from opsbook.output.oncall import now_json, now_line
    from opsbook.paging.overrides import Overrides
    from opsbook.paging.schedule import on_call

    c = opened(ctx)
    when = _when(at, c.now(), "--at")
    overrides = Overrides(c.engine).active(since=when, until=when + timedelta(seconds=1))
    rows = [on_call(layer, when, overrides) for layer in _layers(c, schedule)]
    people = c.loaded.config.paging.people
    if fmt == "json":
        click.echo(json.dumps([now_json(s, people) for s in rows], indent=2))
        return
    for s in rows:
        click.echo(now_line(s, c.tz))


@oncall.command()
@click.argument("schedule")
@click.option("--days", default=14, show_default=True, help="How far ahead.")
@format_option()
@config_option
@click.pass_context
def show(ctx: click.Context, schedule: str, days: int, fmt: str) -> None:
    """Who covers what over the next days, in your time zone (timezone: in opsbook.yaml)."""
    from opsbook.output.oncall import shift_json
    from opsbook.paging.overrides import Overrides
    from opsbook.paging.schedule import shifts
    from opsbook.timefmt import human

    if not 1 <= days <= 366:
        raise UsageError("--days: expected 1 to 366")
    c = opened(ctx)
    start = c.now()
    end = start + timedelta(days=days)
    overrides = Overrides(c.engine).active(since=start, until=end, schedule=schedule)
    out = [s for layer in _layers(c, schedule) for s in shifts(layer, start, end, overrides)]
    if fmt == "json":
        click.echo(json.dumps([shift_json(s) for s in out], indent=2))
        return
    for s in out:
        label = s.schedule if s.layer == s.schedule else f"{s.schedule}/{s.layer}"
        extra = f"  (override #{s.override})" if s.override else ""
        click.echo(f"{human(s.start, c.tz)} → {human(s.end, c.tz)}  {label}: {s.person}{extra}")


@oncall.command()
@click.option("--days", default=28, show_default=True, type=click.IntRange(1, 366),
              help="How far ahead.")  # fmt: skip
@format_option()
@config_option
@click.pass_context
def coverage(ctx: click.Context, days: int, fmt: str) -> None:
    """Holes in the escalation: every level, every 15 minutes of the next days, must reach
    someone with a contact point a channel can deliver to.

    Exit 0 when covered, 1 for holes past level 1 (and people no channel reaches), 3 for a
    hole at level 1 (or any hole, with paging.strict: true).
    """
    from opsbook.output.oncall import coverage_json, coverage_lines
    from opsbook.paging.coverage import check
    from opsbook.paging.overrides import Overrides

    c = opened(ctx)
    start = c.now()
    found = Overrides(c.engine).active(since=start, until=start + timedelta(days=days))
    paging = c.loaded.config.paging
    cov = check(paging, c.loaded.config.timezone, start, days, found)
    strict = paging.settings.strict
    if fmt == "json":
        click.echo(json.dumps(coverage_json(cov, strict), indent=2))
    else:
        for line in coverage_lines(cov, c.tz, days):
            click.echo(line)
    ctx.exit(cov.worst(strict))


@oncall.group()
def override() -> None:
    """Overrides: someone covers a schedule for a span."""


@override.command("add")
@click.argument("schedule")
@click.option("--who", required=True, metavar="PERSON")
@click.option("--from", "from_", required=True, metavar="TIME")
@click.option("--to", "to", required=True, metavar="TIME")
@click.option("--layer", metavar="LAYER", help="A layer of the schedule (default: its first).")
@click.option("--why", default="", help="Why (shown in listings).")
@as_option
@format_option()
@config_option
@click.pass_context
def override_add(
    ctx: click.Context,
    schedule: str,
    who: str,
    from_: str,
    to: str,
    layer: str | None,
    why: str,
    as_: str | None,
    fmt: str,
) -> None:
    """Make PERSON cover SCHEDULE from --from to --to."""
    from opsbook.output.oncall import override_json
    from opsbook.paging.overrides import Overrides, check_target

    c = opened(ctx)
    check_target(c.loaded.config.paging, schedule, layer, who)
    made = Overrides(c.engine).add(
        schedule,
        layer,
        who,
        _when(from_, c.now(), "--from"),
        _when(to, c.now(), "--to"),
        why=why,
        actor=actor(as_),
        now=c.now(),
    )
    if fmt == "json":
        click.echo(json.dumps(override_json(made)))
    else:
        click.echo(f"override #{made.id}: {who} covers {schedule}")


@override.command("list")
@click.argument("schedule", required=False)
@format_option()
@config_option
@click.pass_context
def override_list(ctx: click.Context, schedule: str | None, fmt: str) -> None:
    """Overrides that have not ended."""
    from opsbook.output.oncall import override_json, override_line
    from opsbook.paging.overrides import Overrides

    c = opened(ctx)
    found = Overrides(c.engine).active(since=c.now(), schedule=schedule)
    if fmt == "json":
        click.echo(json.dumps([override_json(o) for o in found], indent=2))
    elif not found:
        click.echo("no overrides", err=True)
    for o in found if fmt != "json" else []:
        click.echo(override_line(o, c.tz))


@override.command("remove")
@click.argument("override_id", metavar="ID", type=int)
@as_option
@config_option
@click.pass_context
def override_remove(ctx: click.Context, override_id: int, as_: str | None) -> None:
    """Remove override #ID."""
    from opsbook.paging.overrides import Overrides

    c = opened(ctx)
    Overrides(c.engine).remove(override_id, actor=actor(as_), now=c.now())
    click.echo(f"override #{override_id} removed")
