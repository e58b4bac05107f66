"""``opsbook backup restore``, and the option every command that reads a backup back takes."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from opsbook.cli.backup_physical import open_backups, physical_sources, restore_physical
from opsbook.cli.context import actor, as_option
from opsbook.cli.options import config_option, format_option
from opsbook.errors import UsageError

if TYPE_CHECKING:
    from opsbook.config.backups import Backups
    from opsbook.store.open import Store

identity_option = click.option(
    "--identity",
    "-i",
    metavar="FILE",
    help="age identity file to decrypt with (default: $OPSBOOK_AGE_IDENTITY).",
)


@click.command()
@click.argument("backup_id", metavar="ID|SOURCE")
@click.option("--to", "to", metavar="DSN|PATH",
              help="The database (PostgreSQL), RDB file (Redis), directory (files), or a new "
                   "data directory (pgbackrest).")  # fmt: skip
@click.option("--to-time", "to_time", metavar="TIME",
              help="pgbackrest: the moment to restore to ('2026-12-02 14:37:00').")  # fmt: skip
@click.option("--in-place", is_flag=True, help="pgbackrest: over the stopped cluster itself.")
@click.option("--incident", metavar="ID", help="Record the recovery on this incident.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Parallel pg_restore jobs (more than 1 stages the dump on local disk).",
)
@click.option("--clean", is_flag=True, help="Drop the objects the backup holds, then restore.")
@click.option("--force", is_flag=True, help="Restore into a non-empty database or directory, "
              "or over an existing RDB file.")  # fmt: skip
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-owner", is_flag=True, help="Do not restore ownership (another role).")
@click.option("--repo", metavar="R", help="Restore the copy in this repository.")
@as_option
@identity_option
@format_option()
@config_option
@click.pass_context
def restore(
    ctx: click.Context, backup_id: str, to: str | None, to_time: str | None, in_place: bool,
    incident: str | None, jobs: int, clean: bool, force: bool, yes: bool, no_owner: bool,
    repo: str | None, as_: str | None, identity: str | None, fmt: str,
) -> None:  # fmt: skip
    """Restore a backup into --to: a PostgreSQL database (then compared with the manifest),
    a Redis RDB file, or a directory for configuration files.

    For a pgbackrest SOURCE: the cluster as it was at --to-time, into a new data directory
    (--to) or in place over the stopped cluster (--in-place), after a plan and a question."""
    from opsbook.backups.catalog import find
    from opsbook.backups.restore_job import RestoreRequest, restore_backup

    loaded, backups, store = open_backups(ctx)
    if backup_id in physical_sources(backups):
        done = restore_physical(
            backups, store.engine, backup_id, to=to, to_time=to_time, in_place=in_place,
            yes=yes, incident=incident, who=actor(as_), tz=loaded.config.timezone, fmt=fmt,
        )  # fmt: skip
        ctx.exit(0 if done else 1)
    if to_time or in_place or incident:
        raise UsageError("--to-time, --in-place and --incident are for pgbackrest sources")
    if to is None:
        raise UsageError("--to is needed: where to restore")
    entry = find(backups, backup_id, repo=repo)
    if entry.manifest.kind != "postgres":
        _restore_to_path(ctx, backups, store, entry, to, clean=clean, force=force, yes=yes,
                         repo=repo, actor_=actor(as_), identity=identity, fmt=fmt)  # fmt: skip
        return
    request = RestoreRequest(entry=entry, dsn=to, jobs=jobs, clean=clean, force=force,
                             no_owner=no_owner, repo=repo, identity=identity,
                             actor=actor(as_))  # fmt: skip
    from opsbook.output.progress import ProgressLine

    interactive = sys.stdin.isatty() and fmt != "json" and not yes
    bar = ProgressLine(f"restore {entry.id}", entry.manifest.stored_bytes)
    try:
        result = restore_backup(
            backups, store.engine, request, confirm=_confirm if interactive else None,
            progress=bar.update if ProgressLine.wanted(fmt) else None,
        )  # fmt: skip
    finally:
        bar.done()
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        mark = "restored" if result.ok else "restored with DIFFERENCES"
        click.echo(f"{entry.id} {mark} into {result.target} in {result.seconds:.1f} s: "
                   f"{result.detail}")  # fmt: skip
    ctx.exit(0 if result.ok else 1)


def _restore_to_path(
    ctx: click.Context, backups: Backups, store: Store, entry: Any, to: str, *, clean: bool,
    force: bool, yes: bool, repo: str | None, actor_: str, identity: str | None, fmt: str,
) -> None:  # fmt: skip
    from pathlib import Path

    from opsbook.backups.restore_files import restore_to_path

    if clean:
        raise UsageError(f"--clean is for PostgreSQL; {entry.id} is a {entry.manifest.kind} "
                         "backup (use --force to write over what is there)")  # fmt: skip
    if "://" in to:
        raise UsageError(f"{entry.id} is a {entry.manifest.kind} backup: --to takes a path "
                         "(an RDB file for Redis, a directory for files), not a URL")  # fmt: skip
    interactive = sys.stdin.isatty() and fmt != "json" and not yes
    result = restore_to_path(backups, store.engine, entry, Path(to).expanduser(), force=force,
                             repo=repo, identity=identity, actor=actor_,
                             confirm=_confirm if interactive else None)  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(f"{entry.id} restored in {result.seconds:.1f} s: {result.detail}")


def _confirm(question: str) -> bool:
    return click.confirm(question, default=False, err=True)
