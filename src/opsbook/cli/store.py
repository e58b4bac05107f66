"""``opsbook store``: the database opsbook keeps its state in."""

from __future__ import annotations

import json

import click

from opsbook.cli.options import config_option, config_path, format_option


@click.group()
def store() -> None:
    """Where state lives: SQLite by default, PostgreSQL with store: or $OPSBOOK_STORE."""


@store.command()
@config_option
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply pending schema migrations (all in one transaction)."""
    from opsbook.config.loader import load_config
    from opsbook.store.engine import describe, make_engine, store_url
    from opsbook.store.migrate import upgrade as run_upgrade

    url = store_url(load_config(config_path(ctx)).config.store)
    engine = make_engine(url)
    ctx.call_on_close(engine.dispose)
    before, after = run_upgrade(engine, describe=describe(url))
    if before == after:
        click.echo(f"{describe(url)}: already at schema revision {after}")
    else:
        click.echo(f"{describe(url)}: upgraded from {before or 'empty'} to revision {after}")


@store.command()
@format_option()
@config_option
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Which store, and its schema revision against this opsbook's."""
    from sqlalchemy.exc import SQLAlchemyError

    from opsbook.config.loader import load_config
    from opsbook.errors import StoreError
    from opsbook.store.engine import describe, make_engine, store_url
    from opsbook.store.migrate import HEAD, current_revision

    url = store_url(load_config(config_path(ctx)).config.store)
    engine = make_engine(url)
    ctx.call_on_close(engine.dispose)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the store {describe(url)}: {exc.__cause__ or exc}") from None
    state = "up to date" if revision == HEAD else ("empty" if revision is None else "behind")
    if fmt == "json":
        doc = {"store": describe(url), "revision": revision, "head": HEAD, "state": state}
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(
            f"{describe(url)}: revision {revision or '(none)'}, this opsbook: {HEAD} ({state})"
        )
