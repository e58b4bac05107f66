"""``opsbook backup``: encrypted off-site backups, and restores proven by a real restore."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from opsbook.cli.backup_physical import (
    listed,
    listed_json,
    listed_lines,
    open_backups,
    outcome_json,
    outcome_lines,
    physical_sources,
    print_proof,
    run_one,
    setup,
    verify_one,
)
from opsbook.cli.backup_restore import identity_option, restore
from opsbook.cli.context import actor, as_option
from opsbook.cli.options import config_option, format_option
from opsbook.errors import UsageError

if TYPE_CHECKING:
    from opsbook.config.backups import Backups
    from opsbook.output.progress import ProgressLine
    from opsbook.progress import Progress
    from opsbook.store.open import Store


def _dump_progress(bar: ProgressLine, source: str) -> Progress:
    return lambda done, artifact="": bar.update(done, f"{source} {artifact}")


def _say(text: str) -> None:
    click.echo(text, err=True)


@click.group()
def backup() -> None:
    """Back up, verify by restoring, restore, prune."""


@backup.command()
@click.argument("source", required=False)
@click.option("--type", "kind", type=click.Choice(["full", "diff", "incr"]), default=None,
              help="pgbackrest sources: the kind of backup (default: full).")  # fmt: skip
@as_option
@identity_option
@format_option()
@config_option
@click.pass_context
def run(
    ctx: click.Context, source: str | None, kind: str | None, as_: str | None,
    identity: str | None, fmt: str,
) -> None:  # fmt: skip
    """Back up SOURCE (default: every source) and print the new backup's ID."""
    from opsbook.backups import jobs
    from opsbook.backups.run import source_of
    from opsbook.errors import BackupError
    from opsbook.output.backups import run_error_json, run_json, run_summary
    from opsbook.output.progress import ProgressLine

    _, backups, store = open_backups(ctx)
    names = [source] if source else list(backups.sources)
    for name in names:
        source_of(backups, name)
    results: list[dict[str, Any]] = []
    failures = 0
    physical = physical_sources(backups)
    if kind is not None and not any(n in physical for n in names):
        raise UsageError("--type is for pgbackrest sources (logical backups are always whole)")
    for name in names:
        if name in physical:
            failures += not _run_physical(backups, store, name, kind, actor(as_), fmt, results)
            continue
        bar = ProgressLine(f"{name} dump") if ProgressLine.wanted(fmt) else None
        verify_bar = ProgressLine(f"{name} verify") if bar else None
        try:
            outcome = jobs.backup(
                backups, store.engine, name, actor=actor(as_), identity=identity,
                progress=_dump_progress(bar, name) if bar else None,
                verify_progress=verify_bar.update if verify_bar else None,
            )  # fmt: skip
        except BackupError as exc:
            if bar:
                bar.done()
            if len(names) == 1:
                raise
            failures += 1
            _say(f"opsbook: {name}: {exc}")
            results.append(run_error_json(name, exc))
            continue
        finally:
            if bar:
                bar.done()
            if verify_bar:
                verify_bar.done()
        results.append(run_json(outcome))
        if not outcome.ok:
            failures += 1
        if fmt != "json":
            for line in run_summary(outcome):
                _say(line)
            click.echo(outcome.result.manifest.id)
    if fmt == "json":
        click.echo(json.dumps(results[0] if source else results, indent=2))
    ctx.exit(1 if failures else 0)


def _run_physical(backups: Backups, store: Store, name: str, kind: str | None, who: str,
                  fmt: str, results: list[dict[str, Any]]) -> bool:  # fmt: skip
    done = run_one(backups, store.engine, name, kind or "full", who)
    results.append(outcome_json(done))
    if fmt != "json":
        for line in outcome_lines(done):
            _say(line)
        if done.backup is not None:
            click.echo(done.backup.label)
    return done.ok


@backup.command("list")
@click.option("--source", metavar="S", help="Only this source's backups.")
@click.option("--repo", metavar="R", help="Only what this repository holds.")
@format_option()
@config_option
@click.pass_context
def list_(ctx: click.Context, source: str | None, repo: str | None, fmt: str) -> None:
    """Backups, newest last: ID, age, size, verified or not, where they are."""
    from opsbook.backups import records
    from opsbook.backups.catalog import catalog
    from opsbook.output.backups import list_json, list_table

    loaded, backups, store = open_backups(ctx)
    logical = source is None or source not in physical_sources(backups)
    entries = catalog(backups, source=source, repo=repo) if logical else []
    verified = records.verifications(store.engine)
    found = listed(backups, source) if repo is None else []
    if fmt == "json":
        both = list_json(entries, verified) + listed_json(found, verified)
        click.echo(json.dumps(both, indent=2))
    else:
        if logical:
            click.echo(list_table(entries, verified, loaded.config.timezone))
        for line in listed_lines(found, verified, loaded.config.timezone):
            click.echo(line)


@backup.command()
@click.argument("backup_id", metavar="ID")
@format_option()
@config_option
@click.pass_context
def show(ctx: click.Context, backup_id: str, fmt: str) -> None:
    """One backup's manifest, and its verifications."""
    from opsbook.backups import records
    from opsbook.backups.catalog import find
    from opsbook.output.backups import show_text

    loaded, backups, store = open_backups(ctx)
    entry = find(backups, backup_id)
    history = [e for e in records.events(store.engine, limit=500) if e.backup_id == entry.id]
    if fmt == "json":
        from opsbook.output.backups import show_json

        click.echo(json.dumps(show_json(entry, history), indent=2, default=str))
    else:
        click.echo(show_text(entry, history, loaded.config.timezone))


@backup.command()
@click.argument("ref", metavar="[ID|latest]", required=False)
@click.option("--unverified", is_flag=True, help="Every backup never verified yet.")
@click.option("--source", metavar="S", help="With latest / --unverified: only this source.")
@click.option("--repo", metavar="R", help="Verify the copy in this repository.")
@click.option(
    "--to-time",
    "to_time",
    metavar="TIME",
    help="pgbackrest sources: prove a restore to this moment ('2026-12-02 14:37:00').",
)
@as_option
@identity_option
@format_option()
@config_option
@click.pass_context
def verify(
    ctx: click.Context, ref: str | None, unverified: bool, source: str | None, repo: str | None,
    to_time: str | None, as_: str | None, identity: str | None, fmt: str,
) -> None:  # fmt: skip
    """Restore into a scratch database, compare with the manifest, drop it; record the result.

    For a pgbackrest SOURCE (given as the argument or --source): restore into a scratch
    cluster, to --to-time or the newest backup's end, check it, remove it."""
    from opsbook.backups import jobs
    from opsbook.backups.catalog import find
    from opsbook.output.progress import ProgressLine

    loaded, backups, store = open_backups(ctx)
    named = source or ref
    if named is not None and named in physical_sources(backups):
        proof = verify_one(backups, store.engine, named, to_time, loaded.config.timezone,
                           actor(as_))  # fmt: skip
        print_proof(named, proof, fmt)
        ctx.exit(0 if proof.ok else 1)
    if to_time is not None:
        raise UsageError("--to-time is for pgbackrest sources (docs/pitr.md)")
    if unverified and ref:
        raise UsageError("give an ID (or latest), or --unverified, not both")
    if unverified:
        entries = jobs.unverified(backups, store.engine, source)
        if not entries and fmt != "json":
            _say("every backup has been verified")
    else:
        entries = [find(backups, ref or "latest", source=source, repo=repo)]
    results = []
    for entry in entries:
        bar = ProgressLine(f"verify {entry.id}", entry.manifest.stored_bytes)
        outcome = jobs.verify_entry(
            backups, store.engine, entry, repo=repo, actor=actor(as_), identity=identity,
            progress=bar.update if ProgressLine.wanted(fmt) else None,
        )  # fmt: skip
        bar.done()
        results.append(outcome)
        if fmt != "json":
            mark = "verified" if outcome.ok else "FAILED"
            click.echo(f"{entry.id}  {mark} in {outcome.seconds:.1f} s ({outcome.repo}): "
                       f"{outcome.detail}")  # fmt: skip
    if fmt == "json":
        data = [r.to_json() for r in results]
        click.echo(json.dumps(data if unverified else data[0], indent=2))
    ctx.exit(0 if all(r.ok for r in results) else 1)


@backup.command()
@click.argument("backup_id", metavar="ID")
@click.option("--to", "to", required=True, metavar="REPO", help="The repository to copy into.")
@as_option
@config_option
@click.pass_context
def copy(ctx: click.Context, backup_id: str, to: str, as_: str | None) -> None:
    """Copy a backup (still encrypted, checksum checked) to another repository."""
    from opsbook.backups import jobs
    from opsbook.backups.catalog import find

    _, backups, store = open_backups(ctx)
    entry = find(backups, backup_id)
    jobs.copy(backups, store.engine, entry, to, actor=actor(as_))
    click.echo(f"{entry.id} copied to {to}")


@backup.command()
@click.option("--dry-run", is_flag=True, help="Show what would be kept and deleted, and why.")
@as_option
@format_option()
@config_option
@click.pass_context
def prune(ctx: click.Context, dry_run: bool, as_: str | None, fmt: str) -> None:
    """Delete backups outside every keep rule; never the newest (verified) one."""
    from opsbook.backups import jobs
    from opsbook.output.backups import prune_json, prune_table

    loaded, backups, store = open_backups(ctx)
    outcome = jobs.prune(backups, store.engine, dry_run=dry_run,
                         timezone=backups.settings.timezone or loaded.config.timezone,
                         actor=actor(as_))  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(prune_json(outcome, dry_run), indent=2))
    else:
        click.echo(prune_table(outcome, dry_run, loaded.config.timezone))
    for error in outcome.errors:
        _say(f"opsbook: {error}")
    ctx.exit(1 if outcome.errors else 0)


@backup.command()
@click.option(
    "--output",
    "-o",
    "output",
    required=True,
    metavar="FILE",
    help="Where to write the secret key (created with mode 0600; never overwritten).",
)
@click.option(
    "--signing",
    is_flag=True,
    help="A signing key instead: its public key (ed25519:…) goes in backups.trusted_signers.",
)
def keygen(output: str, signing: bool) -> None:
    """Make an age key pair: the secret key goes to FILE, the public key (age1…) is printed.

    With --signing, an Ed25519 key that signs every manifest on the backup host
    (backups.signing_key_file), so restores can refuse backups opsbook did not write.
    """
    import os

    if signing:
        from opsbook.backups.signing import keygen as signing_keygen

        public = signing_keygen(output)
        _say(f"signing key written to {output}: set backups.signing_key_file to it on the "
             "backup host, and the key printed below in backups.trusted_signers")  # fmt: skip
        click.echo(public)
        return

    from pyrage import x25519

    identity = x25519.Identity.generate()
    public = str(identity.to_public())
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{output} exists; opsbook never overwrites a key") from None
    except OSError as exc:
        raise UsageError(f"cannot create {output}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(f"# opsbook backup keygen\n# public key: {public}\n{identity}\n")
    _say(f"secret key written to {output}: keep it off the backup machine, and keep a copy")
    click.echo(public)


backup.add_command(restore)
backup.add_command(setup)
