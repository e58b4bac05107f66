"""``opsbook db``: PostgreSQL diagnostics and safe maintenance."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from opsbook.cli import db_maintenance
from opsbook.cli.options import config_option, db_target, db_target_options, format_option

F = TypeVar("F", bound=Callable[..., Any])


def _show(report: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        from opsbook.output.db import print_report

        print_report(report)
    # Like opsbook check, the exit code is the report's status, so cron and monitors can act.
    raise click.exceptions.Exit(int(report.status))


_LIMIT_HELP = {
    "idle_in_transaction": "Idle in a transaction this long: WARNING[,CRITICAL] (5m,30m).",
    "transaction_age": "Holding the xmin horizon this long: WARNING[,CRITICAL] (1h,6h).",
    "query_time": "A query active this long: WARNING[,CRITICAL] (1m,10m).",
    "vacuum_age": "Dead tuples not vacuumed for this long: WARNING[,CRITICAL] (off).",
    "analyze_age": "Changes not analyzed for this long: WARNING[,CRITICAL] (off).",
    "bloat_share": "Wasted share of a table or index: WARNING[,CRITICAL] (50%).",
    "bloat_wasted": "…and only when it wastes this much: WARNING[,CRITICAL] (100MB).",
}


def limit_options(*names: str) -> Callable[[F], F]:
    """check_postgres-style thresholds, each ``WARNING[,CRITICAL]`` or ``off``."""

    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        from opsbook.errors import UsageError
        from opsbook.postgres.limits import parse

        if value is None:
            return None
        try:
            return parse(str(param.name), value)
        except ValueError as exc:
            raise UsageError(f"--{str(param.name).replace('_', '-')}: {exc}") from None

    def decorate(func: F) -> F:
        for name in reversed(names):
            flag = "--" + name.replace("_", "-")
            func = click.option(flag, name, metavar="LIMIT", callback=parse,
                                help=_LIMIT_HELP[name])(func)  # fmt: skip
        return func

    return decorate


def _limits(given: dict[str, Any]) -> Any:
    from opsbook.postgres.limits import DEFAULT

    return DEFAULT.with_(**given)


@click.group()
def db() -> None:
    """PostgreSQL diagnostics and maintenance (PostgreSQL 12 to 17)."""


@db.command()
@limit_options("idle_in_transaction", "query_time")
@db_target_options
@format_option()
@config_option
@click.pass_context
def activity(
    ctx: click.Context, /, check_name: str | None, dsn: str | None, fmt: str, **given: Any
) -> None:
    """Connections by state and client, utilisation, idle in transaction, long and blocked."""
    from opsbook.postgres.activity import activity as collect
    from opsbook.postgres.connect import connect

    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label, limits=_limits(given)), fmt)


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
@limit_options("bloat_share", "bloat_wasted", "vacuum_age", "analyze_age")
@db_target_options
@format_option()
@config_option
@click.pass_context
def bloat(
    ctx: click.Context,
    /,
    exact: bool,
    limit: int,
    check_name: str | None,
    dsn: str | None,
    fmt: str,
    **given: Any,
) -> None:
    """Dead tuples, wasted space in tables and indexes, whether autovacuum will come."""
    from opsbook.postgres.bloat import bloat as collect
    from opsbook.postgres.connect import connect

    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label, exact=exact, limit=limit, limits=_limits(given)), fmt)


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
@limit_options("transaction_age")
@db_target_options
@format_option()
@config_option
@click.pass_context
def health(
    ctx: click.Context, /, check_name: str | None, dsn: str | None, fmt: str, **given: Any
) -> None:
    """Cache hits, deadlocks, wraparound, what holds the horizon, sequences, replication."""
    from opsbook.postgres.connect import connect
    from opsbook.postgres.health import health as collect

    where = db_target(ctx, check_name, dsn)
    with connect(where) as conn:
        _show(collect(conn, where.label, limits=_limits(given)), fmt)


db.add_command(db_maintenance.vacuum)
db.add_command(db_maintenance.reindex)
db.add_command(db_maintenance.maintenance_log)
