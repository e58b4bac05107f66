"""``opsbook alerts``, ``opsbook silence …`` and ``opsbook history``: what the daemon saw."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from opsbook.cli.context import actor, as_option, opened
from opsbook.cli.options import config_option, format_option
from opsbook.output.table import Style

_STATE_STYLE: dict[str, Style] = {"firing": "red", "pending": "yellow"}


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Include inactive alerts.")
@click.option("--events", "events", default=0, metavar="N", help="Also show the last N events.")
@format_option()
@config_option
@click.pass_context
def alerts(ctx: click.Context, show_all: bool, events: int, fmt: str) -> None:
    """Alerts: pending and firing (and with --all, the rest), SEV-4 ones included."""
    from sqlalchemy import select

    from opsbook.alerts.store import load_alerts
    from opsbook.output.table import Cell, Column, render
    from opsbook.store.tables import alert_events
    from opsbook.store.tx import read
    from opsbook.timefmt import human, iso

    c = opened(ctx)
    with read(c.incidents.engine) as conn:
        found = sorted(load_alerts(conn).values(), key=lambda a: (a.state.value, a.name))
        recent = (
            list(
                conn.execute(select(alert_events).order_by(alert_events.c.id.desc()).limit(events))
            )
            if events
            else []
        )
    shown = [a for a in found if show_all or a.state.value != "inactive"]
    if fmt == "json":
        doc: dict[str, Any] = {
            "alerts": [
                {
                    "fingerprint": a.fingerprint,
                    "source": a.source.value,
                    "name": a.name,
                    "labels": a.labels,
                    "state": a.state.value,
                    "level": a.level.name,
                    "severity": f"SEV-{a.severity}" if a.severity else None,
                    "summary": a.summary,
                    "pending_since": iso(a.pending_since),
                    "firing_since": iso(a.firing_since),
                    "incident_id": a.incident_id,
                    "flapping": a.flapping,
                    "suppressed": a.suppressed,
                }
                for a in shown
            ]
        }
        if events:
            doc["events"] = [
                {
                    "at": iso(e.at),
                    "fingerprint": e.fingerprint,
                    "kind": e.kind,
                    "summary": e.summary,
                    "incident_id": e.incident_id,
                }
                for e in recent
            ]
        click.echo(json.dumps(doc, indent=2))
        return
    if not shown:
        click.echo("no alerts pending or firing" if not show_all else "no alerts yet", err=True)
    else:
        rows: list[list[Cell | str]] = []
        for a in shown:
            state = a.state.value + (" (flapping)" if a.flapping else "")
            state += " (silenced)" if a.suppressed else ""
            since = a.firing_since or a.pending_since
            rows.append(
                [
                    a.name,
                    Cell(state, _STATE_STYLE.get(a.state.value, "")),
                    f"SEV-{a.severity}" if a.severity else "—",
                    human(since, c.tz) if since else "",
                    a.incident_id or "—",
                    a.summary,
                ]
            )
        columns = [Column("ALERT"), Column("STATE"), Column("SEV"), Column("SINCE")]
        columns += [Column("INCIDENT"), Column("SUMMARY", wrap=True)]
        click.echo(render(columns, rows))
    for e in reversed(recent):
        click.echo(f"{human(e.at, c.tz, seconds=True)}  {e.fingerprint}  {e.kind}: {e.summary}")


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
    created = Silences(c.incidents.engine).add(
        matcher, ends_at=ends, why=why, actor=actor(as_), now=now
    )
    if fmt == "json":
        click.echo(json.dumps(_silence_dict(created), indent=2))
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
    from opsbook.output.table import Column, render
    from opsbook.timefmt import human

    c = opened(ctx)
    found = Silences(c.incidents.engine).list(now=c.now(), include_ended=show_all)
    if fmt == "json":
        click.echo(json.dumps([_silence_dict(s) for s in found], indent=2))
    elif not found:
        click.echo("no active silences", err=True)
    else:
        click.echo(
            render(
                [
                    Column("#", align="right"),
                    Column("MATCHES"),
                    Column("UNTIL"),
                    Column("BY"),
                    Column("WHY", wrap=True),
                ],
                [
                    [str(s.id), s.matcher, human(s.ends_at, c.tz), s.created_by, s.why]
                    for s in found
                ],
            )
        )


@silence.command()
@click.argument("silence_id", metavar="ID", type=int)
@as_option
@config_option
@click.pass_context
def expire(ctx: click.Context, silence_id: int, as_: str | None) -> None:
    """End silence #ID now."""
    from opsbook.alerts.silences import Silences

    c = opened(ctx)
    Silences(c.incidents.engine).expire(silence_id, actor=actor(as_), now=c.now())
    click.echo(f"silence #{silence_id} expired")


def _silence_dict(s: Any) -> dict[str, Any]:
    from opsbook.timefmt import iso

    return {
        "id": s.id,
        "matcher": s.matcher,
        "starts_at": iso(s.starts_at),
        "ends_at": iso(s.ends_at),
        "why": s.why,
        "created_by": s.created_by,
        "expired_at": iso(s.expired_at),
        "expired_by": s.expired_by,
    }
