"""``opsbook notify test CHANNEL``: prove a channel works before 3 a.m. does."""

from __future__ import annotations

import click

from opsbook.cli.options import config_option, config_path


@click.group()
def notify() -> None:
    """Notification channels."""


@notify.command()
@click.argument("target", metavar="CHANNEL")
@config_option
@click.pass_context
def test(ctx: click.Context, target: str) -> None:
    """Send a test message to CHANNEL (a channel name, or a person: their contact points)."""
    from datetime import UTC, datetime

    from opsbook import aio
    from opsbook.clients import webhooks
    from opsbook.config.loader import load_config
    from opsbook.errors import OpsbookError, UsageError
    from opsbook.paging.channels import deliver
    from opsbook.paging.message import trial_message
    from opsbook.paging.outbox import Item
    from opsbook.paging.targets import Route, person_routes

    loaded = load_config(config_path(ctx))
    paging = loaded.config.paging
    if target in paging.channels:
        routes = [Route(target, target, None)]
    elif target in paging.people:
        routes = person_routes(target, paging)
        if not routes:
            raise UsageError(f"{target} has no contact point a channel can reach")
    else:
        known = ", ".join([*paging.channels, *paging.people]) or "(none configured)"
        raise UsageError(f"no channel or person {target!r}; known: {known}")
    now = datetime.now(UTC)

    async def send_all() -> list[tuple[Route, bool, str]]:
        out = []
        async with webhooks.session() as http:
            for n, route in enumerate(routes):
                item = Item(
                    0,
                    f"test:{now.timestamp()}:{n}",
                    None,
                    "test",
                    route.channel,
                    route.recipient,
                    trial_message(route.channel, now),
                    0,
                    now,
                )
                outcome = await deliver(item, paging, http)
                out.append((route, outcome.ok, outcome.detail))
        return out

    results = aio.run(send_all())
    for route, ok, detail in results:
        click.echo(
            loaded.redactor(
                f"{route.channel} → {route.recipient}: {'delivered' if ok else 'FAILED'} ({detail})"
            )
        )
    if not all(ok for _, ok, _ in results):
        raise OpsbookError("a test message was not delivered")
