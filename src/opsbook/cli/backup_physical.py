"""``opsbook backup`` for pgbackrest sources: ``backup setup``, and the physical side of
``backup run``, ``backup list`` and ``backup verify`` (docs/pitr.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from opsbook.cli.options import config_option, format_option
from opsbook.cli.startup import quietly
from opsbook.errors import UsageError
from opsbook.timefmt import parse_moment

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from opsbook.backups.pgbackrest.info import StanzaInfo
    from opsbook.backups.pgbackrest.physical import BackupOutcome
    from opsbook.backups.pgbackrest.proof import Proof
    from opsbook.config.backups import Backups, PgBackRestSource
    from opsbook.config.loader import LoadedConfig
    from opsbook.store.open import Store


def open_backups(ctx: click.Context) -> tuple[LoadedConfig, Backups, Store]:
    """The file's backups: section and the store, or one line saying what is missing."""
    from opsbook.cli.options import config_path

    with quietly():  # the config, SQLAlchemy
        from opsbook.config.loader import load_config
        from opsbook.store.open import open_store

    loaded = load_config(config_path(ctx))
    if loaded.config.backups is None:
        raise UsageError(
            f"{loaded.source}: no backups: section; add repositories:, encryption: and "
            "sources: (see docs/configuration.md, Backups)"
        )
    store = open_store(loaded.config.store)
    ctx.call_on_close(store.engine.dispose)
    return loaded, loaded.config.backups, store


def physical_sources(backups: Backups) -> dict[str, PgBackRestSource]:
    from opsbook.config.backups import PgBackRestSource

    return {n: s for n, s in backups.sources.items() if isinstance(s, PgBackRestSource)}


def physical_source(backups: Backups, name: str) -> PgBackRestSource:
    found = physical_sources(backups).get(name)
    if found is None:
        known = ", ".join(physical_sources(backups)) or "none"
        raise UsageError(f"{name!r} is not a pgbackrest source (pgbackrest sources: {known})")
    return found


@click.command()
@click.argument("source")
@click.option(
    "--apply",
    "apply",
    is_flag=True,
    help="Set the archive settings with ALTER SYSTEM (a restart may be needed).",
)
@config_option
@click.pass_context
def setup(ctx: click.Context, source: str, apply: bool) -> None:
    """Write pgBackRest's configuration for a pgbackrest SOURCE, create its stanza, check
    WAL archiving; print the postgresql.conf lines archiving needs (or set them, --apply)."""
    from opsbook.backups.pgbackrest import physical

    _, backups, _store = open_backups(ctx)
    chosen = physical_source(backups, source)
    report = physical.setup(source, chosen, backups, apply=apply)
    click.echo(f"wrote {report.where.conf} (stanza {report.where.stanza})")
    differ = {k: v for k, v in report.wanted.items()
              if report.current.get(k) not in (v, v.rstrip("s"))}  # fmt: skip
    if differ and not apply:
        click.echo("set these in postgresql.conf (or run again with --apply):")
        for key, value in differ.items():
            click.echo(f"  {key} = '{value}'")
    elif differ:
        click.echo("set with ALTER SYSTEM: " + ", ".join(differ))
    if report.restart_needed:
        click.echo("restart PostgreSQL for archive_mode to take effect, then run this again")
    click.echo(f"pgbackrest check: {report.checked}")
    ctx.exit(0 if report.checked.startswith("ok") or report.restart_needed else 1)


def run_one(backups: Backups, engine: Engine, name: str, kind: str, who: str) -> BackupOutcome:
    from opsbook.backups.pgbackrest import physical

    return physical.backup(name, physical_source(backups, name), backups, engine, kind=kind,
                           actor=who)  # fmt: skip


def outcome_json(done: BackupOutcome) -> dict[str, Any]:
    b = done.backup
    return {
        "source": done.source, "type": done.kind, "ok": done.ok, "error": done.error,
        "label": b.label if b else None, "seconds": round(done.seconds, 1),
        "copied_bytes": b.delta if b else None, "stored_bytes": b.stored if b else None,
        "proof": proof_json(done.proof) if done.proof else None,
    }  # fmt: skip


def proof_json(p: Proof) -> dict[str, Any]:
    return {"ok": p.ok, "target": p.target.isoformat() if p.target else None,
            "seconds": round(p.seconds, 1), "detail": p.detail, "marker_rows": p.marks}  # fmt: skip


def outcome_lines(done: BackupOutcome) -> list[str]:
    if done.error:
        return [f"opsbook: {done.source}: {done.kind} backup failed: {done.error}"]
    b = done.backup
    assert b is not None
    lines = [
        f"{done.source}: {done.kind} backup {b.label} in {done.seconds:.1f} s, "
        f"{b.delta} bytes copied, {b.stored} stored (WAL {b.wal_start}…{b.wal_stop})"
    ]
    if done.proof:
        mark = "proved" if done.proof.ok else "PROOF FAILED"
        lines.append(f"  {mark} by restore in {done.proof.seconds:.1f} s: {done.proof.detail}")
    return lines


def listed(backups: Backups, source: str | None) -> list[tuple[str, StanzaInfo]]:
    from dataclasses import replace

    from opsbook.backups.pgbackrest import physical

    chosen = physical_sources(backups)
    if source is not None:
        chosen = {k: v for k, v in chosen.items() if k == source}
    found = []
    for name, s in chosen.items():
        info = physical.listing(name, s)
        found.append((name, replace(info, archived_until=physical.archived_until(s))))
    return found


def listed_json(
    found: list[tuple[str, StanzaInfo]], verified: dict[str, Any]
) -> list[dict[str, Any]]:
    out = []
    for name, info in found:
        for b in info.backups:
            event = verified.get(b.label)
            out.append({
                "id": b.label, "source": name, "kind": f"pgbackrest-{b.kind}",
                "started_at": b.started_at.isoformat(), "finished_at": b.finished_at.isoformat(),
                "raw_bytes": b.size, "stored_bytes": b.stored, "repositories": [f"repo{b.repo}"],
                "verified": None if event is None else event.ok,
                "verified_at": None if event is None else event.finished_at.isoformat(),
                "verify_detail": None if event is None else event.detail,
                "wal": {"start": b.wal_start, "stop": b.wal_stop}, "prior": b.prior,
                "recoverable_from": info.earliest_recoverable.isoformat()
                if info.earliest_recoverable else None,
                "recoverable_until": info.archived_until.isoformat()
                if info.archived_until else None,
                "archived_wal": {"min": info.wal_min, "max": info.wal_max},
            })  # fmt: skip
    return out


def listed_lines(found: list[tuple[str, StanzaInfo]], verified: dict[str, Any],
                 tz: str | None) -> list[str]:  # fmt: skip
    from opsbook.timefmt import human, zone

    lines = []
    for name, info in found:
        since = human(info.earliest_recoverable, zone(tz)) if info.earliest_recoverable else "—"
        until = human(info.archived_until, zone(tz)) if info.archived_until else "?"
        lines.append(
            f"{name} (pgbackrest, stanza {info.stanza}: {info.status}): recoverable from "
            f"{since} until about {until}; WAL archived {info.wal_min or '—'} … "
            f"{info.wal_max or '—'}"
        )
        for b in info.backups:
            event = verified.get(b.label)
            mark = "never verified" if event is None else ("proved" if event.ok else "FAILED")
            lines.append(f"  {b.label:36} {b.kind:4}  {human(b.finished_at, zone(tz))}  "
                         f"{b.stored / 1048576:8.1f} MiB stored  {mark}")  # fmt: skip
        if not info.backups:
            lines.append("  no backups yet")
    return lines


def verify_one(backups: Backups, engine: Engine, name: str, to_time: str | None,
               tz: str | None, who: str) -> Proof:  # fmt: skip
    from opsbook.backups.pgbackrest import physical

    target = parse_moment(to_time, tz, "--to-time") if to_time else None
    if target is not None and target > datetime.now(UTC):
        raise UsageError(f"--to-time {to_time}: that is in the future")
    return physical.verify(name, physical_source(backups, name), engine, target, actor=who)


def print_proof(name: str, proof: Proof, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({"source": name, **proof_json(proof)}, indent=2))
        return
    mark = "proved" if proof.ok else "FAILED"
    click.echo(f"{name}  {mark} by restore in {proof.seconds:.1f} s: {proof.detail}")


__all__ = ["format_option", "setup"]


def restore_physical(
    backups: Backups, engine: Engine, name: str, *, to: str | None, to_time: str | None,
    in_place: bool, yes: bool, incident: str | None, who: str, tz: str | None, fmt: str,
) -> bool:  # fmt: skip
    """The runbook's database-only recovery: plan, ask, restore, record; True when done."""
    import sys
    from pathlib import Path

    from opsbook.backups.pgbackrest import restore
    from opsbook.backups.records import Event, EventKind, record
    from opsbook.timefmt import utcnow

    source = physical_source(backups, name)
    if in_place == (to is not None):
        raise UsageError("give --to DATADIR (a new cluster) or --in-place (over the stopped "
                         "cluster), one of them")  # fmt: skip
    target = parse_moment(to_time, tz, "--to-time") if to_time else None
    if target is not None and target > datetime.now(UTC):
        raise UsageError(f"--to-time {to_time}: that is in the future")
    destination = Path(source.data_directory) if in_place else Path(to or "")
    if not destination.is_absolute():
        raise UsageError(f"--to {to}: expected an absolute path (a new data directory)")
    if incident is not None:
        _incidents(engine).get(incident)  # an unknown incident: said before anything runs
    the_plan = restore.plan(name, source, target, destination, in_place)
    for line in the_plan.lines():
        click.echo(line, err=True)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("not on a terminal: add --yes to restore without asking")
        if not click.confirm("restore?", default=False, err=True):
            click.echo("not restored", err=True)
            return False
    started = utcnow()
    seconds = restore.execute(the_plan, source)
    said = (f"{name} restored to {to_time or 'the newest WAL'} from {the_plan.backup.label} "
            f"into {destination} in {seconds:.0f} s")  # fmt: skip
    record(engine, Event(EventKind.RESTORE, name, the_plan.backup.label, "pgbackrest", started,
                         utcnow(), True, said, who))  # fmt: skip
    if incident is not None:
        _incidents(engine).note(incident, f"recovery: {said}", who)
    start = (f"pg_ctl -D {destination} start" if not in_place
             else "systemctl start postgresql")  # fmt: skip
    if fmt == "json":
        doc = {
            "source": name,
            "backup": the_plan.backup.label,
            "into": str(destination),
            "target": target.isoformat() if target else None,
            "seconds": round(seconds, 1),
        }
        click.echo(json.dumps(doc))
    else:
        click.echo(said)
        click.echo(f"start it ({start}, as {source.os_user}): it replays the WAL to the target "
                   "and promotes")  # fmt: skip
    return True


def _incidents(engine: Engine) -> Any:
    from opsbook.incidents.lifecycle import Incidents
    from opsbook.incidents.severity import SeverityPolicy

    return Incidents(engine, SeverityPolicy.from_config({}))
