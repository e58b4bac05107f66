"""``opsbook cluster status``: the instances of a deployment and which one leads."""

from __future__ import annotations

import json

import click

from opsbook.cli.context import opened
from opsbook.cli.options import config_option, format_option


@click.group()
def cluster() -> None:
    """Several opsbook serve on one PostgreSQL store: one leads, the others stand by."""


@cluster.command()
@format_option()
@config_option
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Instances, the leader and its lease; exit 1 when no instance leads."""
    from opsbook.cluster.members import status as read_status
    from opsbook.output.cluster import cluster_json, cluster_text

    c = opened(ctx)
    found = read_status(c.engine)
    gone_after = 3 * float(c.loaded.config.server.failover)
    if fmt == "json":
        click.echo(json.dumps(cluster_json(found, gone_after), indent=2))
    else:
        click.echo(cluster_text(found, gone_after, c.tz))
    leads = found.leader is not None and found.leader.expires_at > found.now
    ctx.exit(0 if leads else 1)
