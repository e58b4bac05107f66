"""``opsbook db``: PostgreSQL diagnostics and safe maintenance."""

from __future__ import annotations

import json
from typing import Any

import click

from opsbook.cli import db_maintenance
from opsbook.cli.options import config_option, db_target, db_target_options, format_option


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
@db_target_options
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
    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label, long_running_s=threshold), fmt)


@db.command("slow-queries")
@click.option(
    "--by", type=click.Choice(["total", "mean", "calls"]), default="total", show_default=True
)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--all", "everyone", is_flag=True, help="Include opsbook's own statements.")
@db_target_options
@format_option()
@config_option
@click.pass_context
def slow_queries(
    ctx: click.Context,
    by: str,
    limit: int,
    everyone: bool,
    check_name: str | None,
    dsn: str | None,
    fmt: str,
) -> None:
    """The costliest statements, from pg_stat_statements (any extension version); opsbook's
    own checks and reports are left out unless --all."""
    from opsbook.postgres.connect import connect
    from opsbook.postgres.statements import slow_queries as collect

    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label, by=by, limit=limit, own=everyone), fmt)


@db.command()
@click.option("--exact", is_flag=True, help="Measure with pgstattuple (reads every page).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@db_target_options
@format_option()
@config_option
@click.pass_context
def bloat(
    ctx: click.Context, exact: bool, limit: int, check_name: str | None, dsn: str | None, fmt: str
) -> None:
    """Dead tuples, estimated table and index bloat, whether autovacuum is due."""
    from opsbook.postgres.bloat import bloat as collect
    from opsbook.postgres.connect import connect

    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label, exact=exact, limit=limit), fmt)


@db.command()
@db_target_options
@format_option()
@config_option
@click.pass_context
def indexes(ctx: click.Context, check_name: str | None, dsn: str | None, fmt: str) -> None:
    """Unused, duplicate, redundant and invalid indexes."""
    from opsbook.postgres.connect import connect
    from opsbook.postgres.indexes import indexes as collect

    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label), fmt)


@db.command()
@db_target_options
@format_option()
@config_option
@click.pass_context
def health(ctx: click.Context, check_name: str | None, dsn: str | None, fmt: str) -> None:
    """Cache hits, deadlocks, wraparound, sequences, replication, sizes."""
    from opsbook.postgres.connect import connect
    from opsbook.postgres.health import health as collect

    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label), fmt)


db.add_command(db_maintenance.vacuum)
db.add_command(db_maintenance.reindex)
db.add_command(db_maintenance.maintenance_log)
