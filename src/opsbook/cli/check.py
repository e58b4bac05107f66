"""``opsbook check``: run the health checks once and exit with the worst status."""

from __future__ import annotations

import difflib
import sys

import click

from opsbook.cli.options import argv_redactor, config_option, config_path, format_option
from opsbook.cli.startup import quietly
from opsbook.errors import ConfigError, OpsbookError, UsageError
from opsbook.status import Status


@click.command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@format_option("table", "json", "nagios")
@config_option
@click.pass_context
def check(ctx: click.Context, names: tuple[str, ...], fmt: str) -> None:
    """Run the checks in opsbook.yaml (or only NAME...) concurrently, once.

    Exit code is the worst status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (Nagios rules).
    With no opsbook.yaml anywhere, checks this host's disk, memory and load, plus
    $DATABASE_URL, $REDIS_URL and $OPSBOOK_HEALTH_URL when they are set.
    """
    with quietly():
        from opsbook import aio
        from opsbook.checks.runner import import_modules, run_checks
        from opsbook.config.loader import load_config
        from opsbook.status import worst

    try:
        loaded = load_config(config_path(ctx))
        checks = loaded.config.checks
        if names:
            unknown = [n for n in names if n not in checks]
            if unknown:
                raise UsageError(_unknown_names(unknown, list(checks), loaded.source))
            checks = {n: checks[n] for n in dict.fromkeys(names)}
        if not checks:
            raise UsageError(
                f"{loaded.source} has no checks; add some under checks: (see opsbook init)"
            )
    except OpsbookError as exc:
        if fmt != "nagios":
            raise
        # Nagios reads stdout only: without this line it shows "(No output)".
        lines = exc.lines if isinstance(exc, ConfigError) else (str(exc),)
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        click.echo(argv_redactor(sys.argv[1:])(f"UNKNOWN: {lines[0]}{more}".replace("|", "/")))
        ctx.exit(int(Status.UNKNOWN))

    with quietly():  # each configured kind's module and client library (psycopg, ssl…)
        import_modules(checks.values())
    results = aio.run(run_checks(checks, loaded.redactor))
    service = loaded.config.service
    notes = [f"no opsbook.yaml found; using embedded defaults: {n}" for n in loaded.notes[:1]]
    notes += [f"  {n}" for n in loaded.notes[1:]]
    if fmt == "json":
        from opsbook.output.checks import to_json

        click.echo(to_json(results, service=service, source=loaded.source))
        for note in notes:
            click.echo(note, err=True)
    elif fmt == "nagios":
        from opsbook.output.checks import to_nagios

        click.echo(to_nagios(results, service=service))
    else:
        from opsbook.output.checks import print_table

        print_table(results, service=service, notes=notes)
    ctx.exit(int(worst(r.status for r in results)))


def _unknown_names(unknown: list[str], known: list[str], source: str) -> str:
    first = unknown[0]
    close = difflib.get_close_matches(first, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"no check named {first!r} in {source}; {hint}checks are: {', '.join(known) or '(none)'}"
