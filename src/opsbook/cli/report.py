"""``opsbook report``: the runbook's reviews, built from what opsbook recorded (docs/jobs.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from opsbook.cli.options import config_option, config_path

REPORT_FORMATS = click.Choice(["md", "html", "json"])


@click.group()
def report() -> None:
    """The daily, weekly and monthly reviews, and the capacity forecast."""


def _write(text: str, output: str | None) -> None:
    from opsbook.errors import OpsbookError

    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OpsbookError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output}", err=True)


@report.command()
@click.option("--format", "-f", "fmt", type=REPORT_FORMATS, default="md", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write to FILE instead of standard output.")
@config_option
@click.pass_context
def capacity(ctx: click.Context, fmt: str, output: str | None) -> None:
    """When disk, database size, connections, Redis memory and request rate reach their
    limits, from the stored history (the settings of a capacity-review job, if one is
    configured). Exit 1 when one is reached within the horizon."""
    from opsbook.config.jobs import CapacityJob
    from opsbook.config.loader import load_config
    from opsbook.output.reports import capacity_charts, page
    from opsbook.routines.dispatch import capacity_report

    loaded = load_config(config_path(ctx))
    job = next((j for j in loaded.config.jobs.values() if isinstance(j, CapacityJob)),
               CapacityJob())  # fmt: skip
    done, found = capacity_report(job, loaded)
    if fmt == "json":
        _write(json.dumps(done.to_json(), indent=2), output)
    elif fmt == "html":
        _write(page(done.report, "Capacity review", capacity_charts(found)), output)
    else:
        _write(done.report, output)
    ctx.exit(int(done.status))


@report.command()
@click.option("--format", "-f", "fmt", type=REPORT_FORMATS, default="md", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write to FILE instead of standard output.")
@config_option
@click.pass_context
def daily(ctx: click.Context, fmt: str, output: str | None) -> None:
    """The morning report: the health check run now, the last day's incidents, backups, job
    runs and flapping checks, who is on call today, what is due this week."""
    from opsbook.config.loader import load_config
    from opsbook.output.reports import page
    from opsbook.routines.dispatch import daily_report

    loaded = load_config(config_path(ctx))
    done = daily_report(loaded)
    if fmt == "json":
        _write(loaded.redactor(json.dumps(done.to_json(), indent=2)), output)
    elif fmt == "html":
        _write(loaded.redactor(page(done.report, "Daily report")), output)
    else:
        _write(loaded.redactor(done.report), output)


@report.command()
@click.option("--format", "-f", "fmt", type=REPORT_FORMATS, default="md", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write to FILE instead of standard output.")
@config_option
@click.pass_context
def security(ctx: click.Context, fmt: str, output: str | None) -> None:
    """The security audit now: pending and security updates, reboot and kernel, scanners,
    the access logs' probing and 4xx, TLS of the endpoints, listeners beyond loopback (the
    settings of a security-audit job, if one is configured). Exit code: its status."""
    from opsbook.config.jobs import SecurityAuditJob
    from opsbook.config.loader import load_config
    from opsbook.output.reports import page
    from opsbook.routines import audit

    loaded = load_config(config_path(ctx))
    job = next((j for j in loaded.config.jobs.values() if isinstance(j, SecurityAuditJob)),
               SecurityAuditJob())  # fmt: skip
    done = audit.perform(job, loaded)
    if fmt == "json":
        _write(loaded.redactor(json.dumps(done.to_json(), indent=2)), output)
    elif fmt == "html":
        _write(loaded.redactor(page(done.report, "Security audit")), output)
    else:
        _write(loaded.redactor(done.report), output)
    ctx.exit(int(done.status))


def _review(ctx: click.Context, period: str, fmt: str, output: str | None) -> None:
    from opsbook.config.loader import load_config
    from opsbook.output.reports import capacity_charts, page
    from opsbook.routines.dispatch import review_report
    from opsbook.routines.review import Period

    loaded = load_config(config_path(ctx))
    done, found = review_report(loaded, Period(period))
    if fmt == "json":
        _write(loaded.redactor(json.dumps(done.to_json(), indent=2)), output)
    elif fmt == "html":
        title = f"{period.capitalize()} review"
        _write(loaded.redactor(page(done.report, title, capacity_charts(found))), output)
    else:
        _write(loaded.redactor(done.report), output)


@report.command()
@click.option("--format", "-f", "fmt", type=REPORT_FORMATS, default="md", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write to FILE instead of standard output.")
@config_option
@click.pass_context
def weekly(ctx: click.Context, fmt: str, output: str | None) -> None:
    """The runbook's weekly review from the records: incidents and their clocks per severity,
    the SEV-4s for review, uptime per check, calendar jobs, backups, open action items."""
    _review(ctx, "weekly", fmt, output)


@report.command()
@click.option("--format", "-f", "fmt", type=REPORT_FORMATS, default="md", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write to FILE instead of standard output.")
@config_option
@click.pass_context
def monthly(ctx: click.Context, fmt: str, output: str | None) -> None:
    """The monthly review: the weekly one over 30 days, with the capacity forecast (and its
    charts in --format html)."""
    _review(ctx, "monthly", fmt, output)
