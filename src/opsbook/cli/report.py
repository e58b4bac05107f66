"""``opsbook report``: the runbook's reviews, built from what opsbook recorded (docs/jobs.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from opsbook.cli.options import config_option, config_path, write_output

if TYPE_CHECKING:
    from opsbook.config.loader import LoadedConfig
    from opsbook.routines.model import ActionReport

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def report() -> None:
    """The daily, weekly and monthly reviews, the capacity forecast, the security audit."""


def report_options(func: F) -> F:
    func = click.option("--output", "-o", metavar="FILE",
                        help="Write to FILE instead of standard output.")(func)  # fmt: skip
    func = click.option("--format", "-f", "fmt", type=click.Choice(["md", "html", "json"]),
                        default="md", show_default=True)(func)  # fmt: skip
    return config_option(func)


def _emit(loaded: LoadedConfig, done: ActionReport, title: str, fmt: str, output: str | None,
          charts: Sequence[tuple[str, str]] = ()) -> None:  # fmt: skip
    from opsbook.output.reports import page

    if fmt == "json":
        text = json.dumps(done.to_json(), indent=2)
    elif fmt == "html":
        text = page(done.report, title, charts)
    else:
        text = done.report
    write_output(loaded.redactor(text), output)


def _settings(loaded: LoadedConfig, model: type[Any]) -> Any:
    """A configured job's settings for this report, else the defaults."""
    return next((j for j in loaded.config.jobs.values() if type(j) is model), None) or model()


@report.command()
@report_options
@click.pass_context
def capacity(ctx: click.Context, fmt: str, output: str | None) -> None:
    """When disk, database size, connections, Redis memory and request rate reach their
    limits, from the stored history (the settings of a capacity-review job, if one is
    configured). Exit 1 when one is reached within the horizon."""
    from opsbook.config.jobs import CapacityJob
    from opsbook.config.loader import load_config
    from opsbook.output.reports import capacity_charts
    from opsbook.routines.dispatch import capacity_report

    loaded = load_config(config_path(ctx))
    done, found = capacity_report(_settings(loaded, CapacityJob), loaded)
    _emit(loaded, done, "Capacity review", fmt, output, capacity_charts(found))
    ctx.exit(int(done.status))


@report.command()
@report_options
@click.pass_context
def daily(ctx: click.Context, fmt: str, output: str | None) -> None:
    """The morning report: the health check run now, the last day's incidents, backups, job
    runs and flapping checks, who is on call today, what is due this week."""
    from opsbook.config.loader import load_config
    from opsbook.routines.dispatch import daily_report

    loaded = load_config(config_path(ctx))
    _emit(loaded, daily_report(loaded), "Daily report", fmt, output)


@report.command()
@report_options
@click.pass_context
def security(ctx: click.Context, fmt: str, output: str | None) -> None:
    """The security audit now: pending and security updates, reboot and kernel, scanners,
    the access logs' probing and 4xx, TLS of the endpoints, listeners beyond loopback (the
    settings of a security-audit job, if one is configured). Exit code: its status."""
    from opsbook.config.jobs import SecurityAuditJob
    from opsbook.config.loader import load_config
    from opsbook.routines import audit

    loaded = load_config(config_path(ctx))
    done = audit.perform(_settings(loaded, SecurityAuditJob), loaded)
    _emit(loaded, done, "Security audit", fmt, output)
    ctx.exit(int(done.status))


def _review(ctx: click.Context, period: str, fmt: str, output: str | None) -> None:
    from opsbook.config.loader import load_config
    from opsbook.output.reports import capacity_charts
    from opsbook.routines.dispatch import review_report
    from opsbook.routines.review import Period

    loaded = load_config(config_path(ctx))
    done, found = review_report(loaded, Period(period))
    _emit(loaded, done, f"{period.capitalize()} review", fmt, output, capacity_charts(found))


@report.command()
@report_options
@click.pass_context
def weekly(ctx: click.Context, fmt: str, output: str | None) -> None:
    """The runbook's weekly review from the records: incidents and their clocks per severity,
    the SEV-4s for review, uptime per check, calendar jobs, backups, open action items."""
    _review(ctx, "weekly", fmt, output)


@report.command()
@report_options
@click.pass_context
def monthly(ctx: click.Context, fmt: str, output: str | None) -> None:
    """The monthly review: the weekly one over 30 days, with the capacity forecast (and its
    charts in --format html)."""
    _review(ctx, "monthly", fmt, output)
