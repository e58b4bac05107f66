"""``opsbook init``: write a commented opsbook.yaml for the stack found on this machine."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from opsbook.errors import OpsbookError, UsageError
from opsbook.secrets import mask_url

if TYPE_CHECKING:
    from opsbook.setup.discover import Given


@click.command()
@click.option(
    "--output",
    "-o",
    default="opsbook.yaml",
    show_default=True,
    metavar="PATH",
    help="Where to write it ('-' for standard output). An existing file is never overwritten.",
)
@click.option("--service", metavar="NAME", help="Service name (default: this directory's name).")
@click.option("--postgres", metavar="DSN", help="The database (default: $DATABASE_URL, else 5432).")
@click.option("--redis", metavar="URL", help="The cache (default: $REDIS_URL, else 6379).")
@click.option(
    "--http", metavar="URL", help="The app's /health (default: $OPSBOOK_HEALTH_URL, else probed)."
)
def init(
    output: str,
    service: str | None,
    postgres: str | None,
    redis: str | None,
    http: str | None,
) -> None:
    """Write a commented opsbook.yaml for the runbook's stack.

    Takes the database, cache and /health URL from --postgres/--redis/--http, else from
    $DATABASE_URL/$REDIS_URL/$OPSBOOK_HEALTH_URL, else probes this machine (PostgreSQL on
    5432, Redis on 6379, /health on 8000, 8080, 3000, 5000, 80), plus a Let's Encrypt
    certificate and nginx's logs; enables the checks for what it has and writes the rest
    commented out. Passwords are never written into the file.
    """
    from opsbook import aio
    from opsbook.setup.discover import Given, discover
    from opsbook.setup.template import render

    given = Given.from_sources(dict(os.environ), postgres, redis, http)
    _check_given(given)
    target = None if output == "-" else Path(output)
    if target is not None and target.exists():
        raise UsageError(
            f"{target} already exists; not overwriting it (remove it, or use --output OTHER.yaml)"
        )
    found = aio.run(discover(given=given))
    name = service or Path.cwd().name or "service"
    text = render(found, service=_yaml_scalar(name), host=socket.gethostname())
    if target is None:
        sys.stdout.write(text)
        return
    try:
        # O_EXCL: a file created since the check above is not overwritten either.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:
        raise UsageError(f"{target} already exists; not overwriting it") from None
    except OSError as exc:
        raise OpsbookError(f"cannot write {target}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    live, off = _live(text, str(target))
    click.echo(f"wrote {target}: live checks: {', '.join(live)}")
    if off:
        click.echo(f"commented out (not found here; uncomment when ready): {', '.join(off)}")
    click.echo("next: opsbook config validate && opsbook check")


_SCHEMES = {
    "postgres": ("postgresql://", "postgres://"),
    "redis": ("redis://", "rediss://", "unix://"),
    "health": ("http://", "https://"),
}


def _check_given(given: Given) -> None:
    for part, schemes in _SCHEMES.items():
        said = getattr(given, part)
        if said is None:
            continue
        value, origin = said
        keyword_dsn = part == "postgres" and "=" in value and "://" not in value
        if not value.startswith(schemes) and not keyword_dsn:
            raise UsageError(
                f"{origin.removeprefix('from ')}: expected a URL starting with "
                f"{' or '.join(schemes)}, got {mask_url(value)!r}"
            )


def _live(text: str, source: str) -> tuple[list[str], list[str]]:
    """Which of init's checks the written file really runs: read back, not assumed."""
    from opsbook.config.loader import parse_config
    from opsbook.setup.template import CHECKS

    live = list(parse_config(text, source, env={}).config.checks)
    return live, [name for name in CHECKS if name not in live]


def _yaml_scalar(text: str) -> str:
    import json

    safe = text.replace("-", "").replace("_", "").replace(".", "").isalnum()
    return text if safe else json.dumps(text)
