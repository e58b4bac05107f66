"""``opsbook serve``: watch the stack continuously."""

from __future__ import annotations

import click

from opsbook.cli.options import config_option, config_path


@click.group(invoke_without_command=True)
@click.option(
    "--listen", metavar="HOST:PORT", help="HTTP address (default: server.listen, 127.0.0.1:9184)."
)
@config_option
@click.pass_context
def serve(ctx: click.Context, listen: str | None) -> None:
    """Run every check on its interval, turn alerts into incidents, serve /health and /metrics.

    With no opsbook.yaml it watches the same embedded defaults as `opsbook check`. Stops
    cleanly on SIGTERM or Ctrl-C; reloads opsbook.yaml on SIGHUP (or `opsbook serve reload`).
    """
    ctx.ensure_object(dict)["listen"] = listen
    if ctx.invoked_subcommand is not None:
        return
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


@serve.command()
@config_option
@click.pass_context
def reload(ctx: click.Context) -> None:
    """Make the running opsbook serve re-read opsbook.yaml (as SIGHUP does).

    The daemon validates the file first and keeps its old configuration if the new one does
    not load (its log and /health say why).
    """
    import urllib.error
    import urllib.request

    from opsbook.config.types import split_host_port
    from opsbook.errors import OpsbookError

    listen = ctx.obj.get("listen") or _listen_of(config_path(ctx))
    host, port = split_host_port(listen)
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/-/reload"
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own
            status = answer.status
    except urllib.error.HTTPError as exc:
        raise OpsbookError(f"{url}: HTTP {exc.code}") from None
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        raise OpsbookError(f"no opsbook serve answers on {host}:{port} ({reason})") from None
    click.echo(f"asked opsbook serve on {host}:{port} to reload (HTTP {status}); its log says "
               "what changed")  # fmt: skip


def _listen_of(explicit: str | None) -> str:
    """The daemon's address, even from a file that does not validate (the reload exists to
    say what is wrong with it; the daemon does that, not this command)."""
    from opsbook.config.daemon import DEFAULT_LISTEN
    from opsbook.config.loader import load_config
    from opsbook.errors import ConfigError

    try:
        return str(load_config(explicit).config.server.listen)
    except ConfigError:
        import os
        from pathlib import Path

        import yaml

        from opsbook.config.loader import find_config

        path = find_config(explicit, os.environ, Path.cwd())
        try:
            data = yaml.safe_load(path.read_text()) if path else None
        except (OSError, yaml.YAMLError):
            data = None
        server = data.get("server") if isinstance(data, dict) else None
        listen = server.get("listen") if isinstance(server, dict) else None
        return listen if isinstance(listen, str) else DEFAULT_LISTEN
