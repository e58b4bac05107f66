"""``opsbook heartbeat test``: prove the dead man's switch hears opsbook, before you rely on it."""

from __future__ import annotations

import click

from opsbook.cli.options import config_option, config_path


@click.group()
def heartbeat() -> None:
    """The outside dead man's switch opsbook serve pings (heartbeat: in opsbook.yaml)."""


@heartbeat.command()
@config_option
@click.pass_context
def test(ctx: click.Context) -> None:
    """Send one ping to every heartbeat URL and say how each answered (exit 1 if one failed)."""
    from opsbook import aio
    from opsbook.clients import webhooks
    from opsbook.config.loader import load_config
    from opsbook.daemon.heartbeat import Ping, ping
    from opsbook.errors import UsageError

    loaded = load_config(config_path(ctx))
    beats = loaded.config.heartbeat
    if not beats:
        raise UsageError(f"{loaded.source} has no heartbeat: (add - url: https://…)")

    async def send() -> list[Ping]:
        async with webhooks.session() as http:
            return [await ping(http, b, "ok", "opsbook heartbeat test") for b in beats]

    results = aio.run(send())
    for r in results:
        click.echo(loaded.redactor(f"{r.url}: {'ok' if r.ok else 'FAILED'} ({r.detail})"))
    ctx.exit(0 if all(r.ok for r in results) else 1)
