"""``opsbook db vacuum | reindex | maintenance-log``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from opsbook.cli.context import actor, as_option
from opsbook.cli.options import (
    config_option,
    config_path,
    db_target,
    db_target_options,
    format_option,
)

if TYPE_CHECKING:
    from opsbook.postgres.maintenance import Outcome
    from opsbook.progress import OnStep


def _progress(fmt: str) -> OnStep | None:
    if fmt == "json" or not sys.stderr.isatty():
        return None
    return lambda line: click.echo(line, err=True)


def _record(ctx: click.Context, target: str, outcomes: list[Outcome], who: str) -> None:
    """Every maintenance run goes into the store: who, what, when, how long, how it went."""
    from opsbook.config.loader import load_config
    from opsbook.postgres import runs
    from opsbook.store.open import open_store

    store = open_store(load_config(config_path(ctx)).config.store)
    ctx.call_on_close(store.engine.dispose)
    runs.record(store.engine, target, outcomes, who)


def _finish(outcomes: list[Outcome], fmt: str) -> None:
    from opsbook.errors import OpsbookError
    from opsbook.output.maintenance import outcome_json, outcome_lines

    if fmt == "json":
        click.echo(json.dumps([outcome_json(o) for o in outcomes], indent=2))
    else:
        for line in outcome_lines(outcomes):
            click.echo(line)
    if any(not o.ok for o in outcomes):
        raise OpsbookError("some maintenance steps failed (recorded in opsbook db maintenance-log)")


@click.command()
@click.option("--analyze", is_flag=True, help="VACUUM (ANALYZE): refresh planner statistics too.")
@click.option("--table", "tables", multiple=True, metavar="TABLE", help="Only these (repeatable).")
@click.option("--full", is_flag=True, help="VACUUM FULL: rewrites tables under an exclusive lock.")
@click.option("--lock-timeout", default="5s", show_default=True, metavar="DURATION")
@as_option
@db_target_options
@format_option()
@config_option
@click.pass_context
def vacuum(
    ctx: click.Context,
    analyze: bool,
    tables: tuple[str, ...],
    full: bool,
    lock_timeout: str,
    as_: str | None,
    check_name: str | None,
    dsn: str | None,
    fmt: str,
) -> None:
    """VACUUM (ANALYZE) the database or chosen tables, with progress."""
    from opsbook.errors import UsageError
    from opsbook.postgres.connect import connect
    from opsbook.postgres.maintenance import run
    from opsbook.postgres.plans import vacuum_plan
    from opsbook.units import parse_duration

    try:
        lock = parse_duration(lock_timeout)
    except ValueError as exc:
        raise UsageError(f"--lock-timeout: {exc}") from None
    if full:
        click.echo(
            "warning: VACUUM FULL takes an ACCESS EXCLUSIVE lock on each table for the "
            "whole rewrite: reads and writes wait.",
            err=True,
        )
    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn, connect(where) as watch:
        steps = vacuum_plan(conn, list(tables), analyze=analyze, full=full)
        outcomes = run(
            conn,
            steps,
            lock_timeout_s=lock,
            statement_timeout_s=0,
            progress=_progress(fmt),
            watch=watch,
        )
    _record(ctx, where.label, list(outcomes), actor(as_))
    _finish(list(outcomes), fmt)


@click.command()
@click.option("--index", "index_names", multiple=True, metavar="INDEX", help="Repeatable.")
@click.option("--bloated-over", metavar="PERCENT", help="Every index at least this bloated (30%).")
@click.option("--invalid", is_flag=True, help="Every invalid index (a failed concurrent build).")
@click.option(
    "--database",
    "whole",
    is_flag=True,
    help="REINDEX DATABASE CONCURRENTLY: every index, for hours on a big database.",
)
@click.option(
    "--system",
    is_flag=True,
    help="REINDEX SYSTEM: system catalogs, under locks that block the whole database.",
)
@click.option("--dry-run", is_flag=True, help="Show the plan only.")
@click.option("--lock-timeout", default="5s", show_default=True, metavar="DURATION")
@click.option("--statement-timeout", default="2h", show_default=True, metavar="DURATION")
@as_option
@db_target_options
@format_option()
@config_option
@click.pass_context
def reindex(
    ctx: click.Context,
    index_names: tuple[str, ...],
    bloated_over: str | None,
    invalid: bool,
    whole: bool,
    system: bool,
    dry_run: bool,
    lock_timeout: str,
    statement_timeout: str,
    as_: str | None,
    check_name: str | None,
    dsn: str | None,
    fmt: str,
) -> None:
    """REINDEX INDEX CONCURRENTLY the chosen indexes, one at a time, plan first."""
    from opsbook.errors import UsageError
    from opsbook.postgres.connect import connect
    from opsbook.postgres.maintenance import run
    from opsbook.postgres.plans import reindex_plan
    from opsbook.units import parse_duration, parse_percent

    if not (index_names or bloated_over or invalid or whole or system):
        raise UsageError(
            "choose what to reindex: --index I, --bloated-over 30%, --invalid "
            "(or --database / --system)"
        )
    try:
        lock, limit = parse_duration(lock_timeout), parse_duration(statement_timeout)
        over = parse_percent(bloated_over) if bloated_over else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if whole:
        click.echo(
            "warning: --database rebuilds every index of the database; each is "
            "concurrent, but the whole run is long and heavy on I/O.",
            err=True,
        )
    if system:
        click.echo(
            "warning: --system rebuilds the system catalogs under locks that block "
            "every session of the database until it finishes.",
            err=True,
        )
    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn, connect(where) as watch:
        steps = reindex_plan(
            conn,
            indexes=list(index_names),
            bloated_over=over,
            invalid=invalid,
            database=whole,
            system=system,
        )
        plan = [{"object": s.object, "statement": s.text(conn), "why": s.why} for s in steps]
        if dry_run or not steps:
            if fmt == "json":
                click.echo(json.dumps({"plan": plan, "dry_run": dry_run}, indent=2))
            else:
                click.echo(
                    f"plan ({len(plan)} step{'s' if len(plan) != 1 else ''}"
                    f"{', dry run' if dry_run else ''}):"
                )
                for p in plan:
                    click.echo(f"  {p['statement']}   -- {p['why']}")
            return
        if fmt != "json":
            click.echo(
                f"plan: {len(steps)} index{'es' if len(steps) != 1 else ''}, one at a time, "
                f"lock_timeout {lock_timeout}, statement_timeout {statement_timeout}"
            )
        outcomes = run(
            conn,
            steps,
            lock_timeout_s=lock,
            statement_timeout_s=limit,
            progress=_progress(fmt),
            watch=watch,
        )
    _record(ctx, where.label, list(outcomes), actor(as_))
    _finish(list(outcomes), fmt)


@click.command("maintenance-log")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@format_option()
@config_option
@click.pass_context
def maintenance_log(ctx: click.Context, limit: int, fmt: str) -> None:
    """The maintenance runs recorded: who, what, when, how long, how it went."""
    from opsbook.config.loader import load_config
    from opsbook.output.maintenance import run_json, run_line
    from opsbook.postgres import runs
    from opsbook.store.open import open_store
    from opsbook.timefmt import zone

    loaded = load_config(config_path(ctx))
    store = open_store(loaded.config.store)
    ctx.call_on_close(store.engine.dispose)
    found = runs.recent(store.engine, limit)
    if fmt == "json":
        click.echo(json.dumps([run_json(r) for r in found], indent=2))
        return
    if not found:
        click.echo("no maintenance recorded yet", err=True)
    tz = zone(loaded.config.timezone)
    for r in found:
        click.echo(run_line(r, tz))
