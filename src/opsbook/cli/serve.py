"""``opsbook serve``: watch the stack continuously."""

from __future__ import annotations

import click

from opsbook.cli.options import config_option, config_path


@click.command()
@click.option(
    "--listen", metavar="HOST:PORT", help="HTTP address (default: server.listen, 127.0.0.1:9184)."
)
@config_option
@click.pass_context
def serve(ctx: click.Context, listen: str | None) -> None:
    """Run every check on its interval, turn alerts into incidents, serve /health and /metrics.

    With no opsbook.yaml it watches the same embedded defaults as `opsbook check`. Stops
    cleanly on SIGTERM or Ctrl-C.
    """
    import logging

    from opsbook import aio
    from opsbook.config.loader import load_config
    from opsbook.daemon.logs import configure as configure_logging
    from opsbook.daemon.main import Daemon
    from opsbook.store.open import open_store
    from opsbook.web.app import create_app

    if listen is not None:
        from opsbook.config.types import split_host_port
        from opsbook.errors import UsageError

        try:
            split_host_port(listen)
        except ValueError as exc:
            raise UsageError(f"--listen: {exc}") from None
    configure_logging()
    loaded = load_config(config_path(ctx))
    for note in loaded.notes:
        logging.getLogger("opsbook").info("embedded defaults: %s", note)
    if not loaded.config.checks:
        from opsbook.errors import UsageError

        raise UsageError(f"{loaded.source} has no checks to watch; add some under checks:")
    store = open_store(loaded.config.store)
    ctx.call_on_close(store.engine.dispose)
    daemon = Daemon(loaded, store, listen=listen)
    aio.run(daemon.main(create_app(daemon)))
