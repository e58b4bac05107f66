"""The ``opsbook`` command: a thin face over the domain packages.

Only this package turns errors into messages and exit codes. Exit codes follow the Nagios
plugin rules so cron, CI and monitors can read them: 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN, which is also what a bad config or a bad argument gives. Commands import their
heavy dependencies inside the function, so ``opsbook --help`` stays instant.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from opsbook import __version__
from opsbook.cli.options import argv_redactor, config_option
from opsbook.cli.startup import quietly
from opsbook.errors import ConfigError, OpsbookError

USAGE_EXIT = 3


# Each command's module is imported when that command runs (or --help lists them): a
# command pays only for its own imports (all of them together had cost ~15 ms a start).
_COMMANDS = {
    "check": "check:check",
    "init": "init:init",
    "config": "config:config",
    "incident": "incident:incident",
    "severity": "severity:severity",
    "store": "store:store",
    "serve": "serve:serve",
    "alerts": "alerts:alerts",
    "silence": "alerts:silence",
    "history": "history:history",
    "oncall": "oncall:oncall",
    "notify": "notify:notify",
    "db": "db:db",
    "backup": "backup:backup",
    "logs": "logs:logs",
    "heartbeat": "heartbeat:heartbeat",
    "trends": "trends:trends",
    "cluster": "cluster:cluster",
    "jobs": "jobs:jobs",
    "report": "report:report",
    "actions": "playbook:actions",
    "run": "playbook:run_procedure",
    "user": "accounts:user",
    "token": "accounts:token",
}


class _LazyGroup(click.Group):
    """The top-level group: its commands named here, loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module, name = _COMMANDS[cmd_name].split(":")
            with quietly():
                command = getattr(importlib.import_module(f"opsbook.cli.{module}"), name)
            assert isinstance(command, click.Command) and command.name == cmd_name
            self.add_command(command)
        return self.commands.get(cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="opsbook")
@config_option
def cli() -> None:
    """opsbook: your operations runbook as software.

    Describe the stack once in opsbook.yaml; opsbook checks it, and (as the project grows)
    watches it, pages the right person, records incidents and keeps backups honest.
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, print errors as one line each, exit with their code.

    Every error line passes a redactor that knows the secrets in the command line's own
    arguments (a --dsn with a password, a --to DSN), on top of what each command already
    masks, so a library that echoes its input cannot print them.
    """
    redact = argv_redactor(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=argv, prog_name="opsbook", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        click.echo("opsbook: aborted", err=True)
        code = 130
    except click.ClickException as exc:
        command = exc.ctx.command_path if getattr(exc, "ctx", None) else "opsbook"  # type: ignore[attr-defined]
        hint = f" (see '{command} --help')" if isinstance(exc, click.UsageError) else ""
        message = " ".join(exc.format_message().split())
        click.echo(redact(f"{command}: {message}{hint}"), err=True)
        code = USAGE_EXIT if isinstance(exc, click.UsageError) else exc.exit_code
    except ConfigError as exc:
        for line in exc.lines:
            click.echo(redact(f"opsbook: {line}"), err=True)
        code = exc.exit_code
    except OpsbookError as exc:
        click.echo(redact(f"opsbook: {exc}"), err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("opsbook: interrupted", err=True)
        code = 130
    except Exception as exc:  # a bug: still one line, and the traceback on request
        if os.environ.get("OPSBOOK_DEBUG"):
            raise
        click.echo(
            redact(
                f"opsbook: internal error: {type(exc).__name__}: {exc} "
                "(set OPSBOOK_DEBUG=1 for the traceback, and please report it)"
            ),
            err=True,
        )
        code = USAGE_EXIT
    sys.exit(code if isinstance(code, int) else 0)
