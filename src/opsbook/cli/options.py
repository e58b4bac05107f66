"""Options every command shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from opsbook.secrets import Redactor

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json")


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    # Accepted before or after the command name: `opsbook --config f check` or
    # `opsbook check --config f`; the one nearest the command wins.
    root = ctx.find_root()
    root.meta.setdefault("opsbook.config", None)
    if value is not None:
        root.meta["opsbook.config"] = value
    return value


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "-c",
        metavar="FILE",
        expose_value=False,
        is_eager=True,
        callback=_remember_config,
        help="opsbook.yaml to use (default: $OPSBOOK_CONFIG, then ./opsbook.yaml, "
        "then the embedded defaults).",
    )(func)


def config_path(ctx: click.Context) -> str | None:
    value = ctx.find_root().meta.get("opsbook.config")
    return value if isinstance(value, str) else None


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "-f",
        "fmt",
        type=click.Choice(choices or FORMATS),
        default=(choices or FORMATS)[0],
        show_default=True,
        help="Output format.",
    )


def db_target_options(func: F) -> F:
    func = click.option(
        "--dsn", metavar="DSN", help="A connection string (else a postgres check's)."
    )(func)
    return click.option(
        "--check",
        "check_name",
        metavar="NAME",
        help="The postgres check in opsbook.yaml whose database to use.",
    )(func)


def db_target(ctx: click.Context, check_name: str | None, dsn: str | None) -> Any:
    from opsbook.config.loader import load_config
    from opsbook.postgres.connect import target

    loaded = load_config(config_path(ctx))
    return target(loaded.config, check_name, dsn)


def argv_redactor(argv: list[str]) -> Redactor:
    """Masks the secrets in the command line's own arguments (a --dsn with a password)."""
    from opsbook.secrets import secrets_in

    return Redactor([s for arg in argv for s in secrets_in(arg)])


def write_output(text: str, output: str | None) -> None:
    """A report to standard output, or to ``--output FILE`` (said on stderr)."""
    from pathlib import Path

    from opsbook.errors import OpsbookError

    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OpsbookError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output}", err=True)


T = TypeVar("T")


def named(items: Mapping[str, T], name: str, kind: str, source: str) -> T:
    """``items[name]``, or one line naming what exists (a job, an action, a procedure)."""
    from opsbook.errors import UsageError

    found = items.get(name)
    if found is None:
        known = ", ".join(items) or f"none; add them under {kind}s:"
        raise UsageError(f"no {kind} {name!r} in {source} ({kind}s: {known})")
    return found
