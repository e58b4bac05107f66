"""``opsbook user …`` and ``opsbook token …``: who may use the web console and the API."""

from __future__ import annotations

import json
import sys

import click

from opsbook.cli.context import opened
from opsbook.cli.options import config_option, format_option

ROLES = click.Choice(["viewer", "responder", "admin"])


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        from opsbook.errors import UsageError

        raise UsageError("no terminal to ask the password on: give it with --password-stdin")
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True, err=True))


@click.group()
def user() -> None:
    """Users of the web console (passwords hashed with Argon2)."""


@user.command()
@click.argument("name")
@click.option("--role", type=ROLES, default="responder", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
@config_option
@click.pass_context
def add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add user NAME (asks the password twice on a terminal)."""
    from opsbook.accounts import users
    from opsbook.config.actions import Role

    c = opened(ctx)
    users.add(c.engine, name, Role(role), _password(password_stdin), c.now())
    click.echo(f"user {name} added ({role})")


@user.command()
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
@config_option
@click.pass_context
def passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set user NAME's password (and unlock the account)."""
    from opsbook.accounts import users

    c = opened(ctx)
    users.set_password(c.engine, name, _password(password_stdin))
    click.echo(f"password of {name} changed")


@user.command(name="hash")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
def hash_(password_stdin: bool) -> None:
    """Print an Argon2 hash of a password, for users: in opsbook.yaml."""
    from opsbook.accounts import users

    click.echo(users.hash_password(_password(password_stdin)))


@user.command()
@click.argument("name")
@config_option
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove user NAME."""
    from opsbook.accounts import users

    users.remove(opened(ctx).engine, name)
    click.echo(f"user {name} removed")


@user.command(name="list")
@format_option("table", "json")
@config_option
@click.pass_context
def list_users(ctx: click.Context, fmt: str) -> None:
    """Every user and role (never a hash)."""
    from opsbook.accounts import users
    from opsbook.timefmt import iso

    c = opened(ctx)
    found = users.listed(c.engine)
    if fmt == "json":
        click.echo(json.dumps({"users": [{"name": u.name, "role": u.role.value,
                                          "created_at": iso(u.created_at),
                                          "locked_until": iso(u.locked_until),
                                          "source": "opsbook.yaml" if u.managed else "cli"}
                                         for u in found]}, indent=2))  # fmt: skip
        return
    for u in found:
        locked = f"  locked until {u.locked_until:%H:%M} UTC" if u.locked_until else ""
        source = "  (users: in opsbook.yaml)" if u.managed else ""
        click.echo(f"{u.name}  {u.role.value}{locked}{source}")
    if not found:
        click.echo("no users: opsbook user add NAME --role admin", err=True)


@click.group()
def token() -> None:
    """API tokens (Authorization: Bearer …), stored hashed, shown once."""


@token.command()
@click.argument("name")
@click.option("--role", type=ROLES, default="viewer", show_default=True)
@config_option
@click.pass_context
def create(ctx: click.Context, name: str, role: str) -> None:
    """Make a token called NAME; it is printed once, on stdout, and never again."""
    from opsbook.accounts import tokens
    from opsbook.config.actions import Role

    c = opened(ctx)
    made = tokens.create(c.engine, name, Role(role), c.now())
    click.echo(f"token {name} ({role}); keep it now, it is not shown again:", err=True)
    click.echo(made)


@token.command(name="list")
@format_option("table", "json")
@config_option
@click.pass_context
def list_tokens(ctx: click.Context, fmt: str) -> None:
    """Every token: name, role, last used, revoked (never the token)."""
    from opsbook.accounts import tokens
    from opsbook.timefmt import iso

    found = tokens.listed(opened(ctx).engine)
    if fmt == "json":
        click.echo(json.dumps({"tokens": [{"id": t.id, "name": t.name, "role": t.role.value,
                                           "created_at": iso(t.created_at),
                                           "last_used_at": iso(t.last_used_at),
                                           "revoked_at": iso(t.revoked_at)} for t in found]},
                              indent=2))  # fmt: skip
        return
    for t in found:
        state = "revoked" if t.revoked_at else f"last used {iso(t.last_used_at) or 'never'}"
        click.echo(f"{t.id}  {t.name}  {t.role.value}  {state}")


@token.command()
@click.argument("token_id", type=int, metavar="ID")
@config_option
@click.pass_context
def revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke token ID (opsbook token list): it stops working at once."""
    from opsbook.accounts import tokens

    c = opened(ctx)
    tokens.revoke(c.engine, token_id, c.now())
    click.echo(f"token {token_id} revoked")
