"""``opsbook db``: PostgreSQL diagnostics and safe maintenance."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from opsbook.cli.options import config_option, config_path, format_option

F = TypeVar("F", bound=Callable[..., Any])


def target_options(func: F) -> F:
    func = click.option(
        "--dsn", metavar="DSN", help="A connection string (else a postgres check's)."
    )(func)
    return click.option(
        "--check",
        "check_name",
        metavar="NAME",
        help="The postgres check in opsbook.yaml whose database to use.",
    )(func)


def _target(ctx: click.Context, check_name: str | None, dsn: str | None) -> Any:
    from opsbook.config.loader import load_config
    from opsbook.postgres.connect import target

    loaded = load_config(config_path(ctx))
    return target(loaded.config, check_name, dsn)


def _show(report: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        from opsbook.output.db import print_report

        print_report(report)
    # Like opsbook check, the exit code is the report's status, so cron and monitors can act.
    raise click.exceptions.Exit(int(report.status))


@click.group()
def db() -> None:
    """PostgreSQL diagnostics and maintenance (PostgreSQL 12 to 17)."""


@db.command()
@click.option(
    "--long-running",
    default="60s",
    show_default=True,
    metavar="DURATION",
    help="Queries active longer than this are listed.",
)
@target_options
@format_option()
@config_option
@click.pass_context
def activity(
    ctx: click.Context, long_running: str, check_name: str | None, dsn: str | None, fmt: str
) -> None:
    """Connections by state and client, utilisation, idle in transaction, long and blocked."""
    from opsbook.errors import UsageError
    from opsbook.postgres.activity import activity as collect
    from opsbook.postgres.connect import connect
    from opsbook.units import parse_duration

    try:
        threshold = parse_duration(long_running)
    except ValueError as exc:
        raise UsageError(f"--long-running: {exc}") from None
    where = _target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label, long_running_s=threshold), fmt)


@db.command("slow-queries")
@click.option(
    "--by", type=click.Choice(["total", "mean", "calls"]), default="total", show_default=True
)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@target_options
@format_option()
@config_option
@click.pass_context
def slow_queries(
    ctx: click.Context, by: str, limit: int, check_name: str | None, dsn: str | None, fmt: str
) -> None:
    """The costliest statements, from pg_stat_statements (any extension version)."""
    from opsbook.postgres.connect import connect
    from opsbook.postgres.statements import slow_queries as collect

    where = _target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label, by=by, limit=limit), fmt)


@db.command()
@click.option("--exact", is_flag=True, help="Measure with pgstattuple (reads every page).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@target_options
@format_option()
@config_option
@click.pass_context
def bloat(
    ctx: click.Context, exact: bool, limit: int, check_name: str | None, dsn: str | None, fmt: str
) -> None:
    """Dead tuples, estimated table and index bloat, whether autovacuum is due."""
    from opsbook.postgres.bloat import bloat as collect
    from opsbook.postgres.connect import connect

    where = _target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label, exact=exact, limit=limit), fmt)


@db.command()
@target_options
@format_option()
@config_option
@click.pass_context
def indexes(ctx: click.Context, check_name: str | None, dsn: str | None, fmt: str) -> None:
    """Unused, duplicate, redundant and invalid indexes."""
    from opsbook.postgres.connect import connect
    from opsbook.postgres.indexes import indexes as collect

    where = _target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label), fmt)


@db.command()
@target_options
@format_option()
@config_option
@click.pass_context
def health(ctx: click.Context, check_name: str | None, dsn: str | None, fmt: str) -> None:
    """Cache hits, deadlocks, wraparound, sequences, replication, sizes."""
    from opsbook.postgres.connect import connect
    from opsbook.postgres.health import health as collect

    where = _target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label), fmt)


def _register() -> None:
    from opsbook.cli import db_maintenance

    db.add_command(db_maintenance.vacuum)
    db.add_command(db_maintenance.reindex)
    db.add_command(db_maintenance.maintenance_log)


_register()
