"""``opsbook init``: write a commented opsbook.yaml for the stack found on this machine."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import click

from opsbook.errors import OpsbookError


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
def init(output: str, service: str | None) -> None:
    """Write a commented opsbook.yaml for the runbook's stack.

    Probes this machine for PostgreSQL (5432), Redis (6379), an app /health endpoint
    (8000, 8080, 3000, 5000, 80) and a Let's Encrypt certificate, and enables the checks
    for what it finds; the rest are written commented out.
    """
    from opsbook import aio
    from opsbook.setup.discover import discover
    from opsbook.setup.template import render

    target = None if output == "-" else Path(output)
    if target is not None and target.exists():
        raise OpsbookError(
            f"{target} already exists; not overwriting it (remove it, or use --output OTHER.yaml)"
        )
    found = aio.run(discover())
    name = service or Path.cwd().name or "service"
    text = render(found, service=_yaml_scalar(name), host=socket.gethostname())
    if target is None:
        sys.stdout.write(text)
        return
    try:
        # O_EXCL: a file created since the check above is not overwritten either.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:
        raise OpsbookError(f"{target} already exists; not overwriting it") from None
    except OSError as exc:
        raise OpsbookError(f"cannot write {target}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    enabled = [
        n
        for n, on in (
            ("app", found.app_url),
            ("db", found.postgres),
            ("cache", found.redis),
            ("cert", found.cert_file),
        )
        if on
    ]
    click.echo(f"wrote {target}: checks disk, memory" + "".join(f", {n}" for n in enabled))
    click.echo("next: opsbook config validate && opsbook check")


def _yaml_scalar(text: str) -> str:
    import json

    safe = text.replace("-", "").replace("_", "").replace(".", "").isalnum()
    return text if safe else json.dumps(text)
