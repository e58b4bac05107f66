"""The physical source's jobs, as `opsbook backup` runs them: set up (pgBackRest's file,
the archive settings, stanza-create, check), back up (a marker row first, then full or
incremental, then expire), list, and prove by restore; each recorded as a backup event like
the logical backups', so the backup-<source> check, the board and the reports see them."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from opsbook.backups import records
from opsbook.backups.pgbackrest import marker
from opsbook.backups.pgbackrest.command import run
from opsbook.backups.pgbackrest.conf import Layout, layout, settings, write
from opsbook.backups.pgbackrest.info import PhysicalBackup, StanzaInfo, read
from opsbook.backups.pgbackrest.proof import Proof, prove
from opsbook.backups.records import Event, EventKind, record
from opsbook.config.backups import Backups, PgBackRestSource
from opsbook.errors import BackupError, JobBusy, OpsbookError
from opsbook.timefmt import utcnow

KINDS = ("full", "diff", "incr")
LOCK_TTL = timedelta(hours=12)


def dsn_of(source: PgBackRestSource) -> str:
    return source.conninfo


def connect(conninfo: str) -> Any:
    from opsbook.clients.postgres import session

    return session(conninfo, label="the cluster")


@dataclass(frozen=True)
class SetupReport:
    where: Layout
    wanted: dict[str, str]  # postgresql.conf settings archiving needs
    current: dict[str, str]  # what the server has now
    applied: bool
    restart_needed: bool
    checked: str  # pgbackrest check's outcome, or why it was not run


def setup(name: str, source: PgBackRestSource, backups: Backups, *, apply: bool) -> SetupReport:
    where = write(name, source, backups)
    wanted = settings(name, source)
    from psycopg import sql

    with connect(dsn_of(source)) as conn:
        current = {k: str(conn.execute(
            "SELECT setting FROM pg_settings WHERE name = %s", (k,)).fetchone()["setting"])
            for k in wanted}  # fmt: skip
        archive_off = current["archive_mode"] != "on"
        level_low = current["wal_level"] == "minimal"
        if apply:
            for key, value in wanted.items():
                if current[key] != value and not (key == "archive_timeout" and
                                                  current[key] == value.rstrip("s")):  # fmt: skip
                    conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                        sql.Identifier(key), sql.Literal(value)))  # fmt: skip
            conn.execute("SELECT pg_reload_conf()")
    run(where, source.os_user, ["stanza-create"], timeout=600)
    restart = archive_off or level_low
    if restart:
        checked = "not run: archive_mode (or wal_level) takes effect after a restart"
    else:
        try:
            run(where, source.os_user, ["check"], timeout=600)
            checked = "ok: a WAL segment reached the repository"
        except BackupError as exc:
            checked = f"failed: {exc}"
    return SetupReport(where, wanted, current, apply, restart, checked)


@dataclass(frozen=True)
class BackupOutcome:
    source: str
    kind: str
    backup: PhysicalBackup | None
    seconds: float
    mark: marker.Mark | None
    proof: Proof | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and (self.proof is None or self.proof.ok)


def backup(
    name: str, source: PgBackRestSource, backups: Backups, engine: Engine, *, kind: str,
    actor: str, prove_after: bool | None = None,
) -> BackupOutcome:  # fmt: skip
    if kind not in KINDS:
        raise BackupError(f"--type: one of {', '.join(KINDS)}")
    lock = f"backup:{name}"  # one backup of a source at a time, across a deployment
    if not records.claim(engine, lock, LOCK_TTL):
        raise JobBusy(f"another backup of {name} is running (job lock {lock!r})")
    try:
        return _backup(name, source, backups, engine, kind=kind, actor=actor,
                       prove_after=prove_after)  # fmt: skip
    finally:
        records.release(engine, lock)


def _backup(
    name: str, source: PgBackRestSource, backups: Backups, engine: Engine, *, kind: str,
    actor: str, prove_after: bool | None,
) -> BackupOutcome:  # fmt: skip
    where = write(name, source, backups)  # the file follows opsbook.yaml
    began, started = time.monotonic(), utcnow()
    mark = None
    try:
        with connect(dsn_of(source)) as conn:
            mark = marker.write(conn, f"before the {kind} backup")
        run(where, source.os_user, ["backup", f"--type={kind}"])
        run(where, source.os_user, ["expire"], timeout=1800)  # fulls: full_retention
        expire_incrementals(where, source, utcnow())
        newest = read(where, source.os_user).backups[-1]
    except OpsbookError as exc:
        record(engine, Event(EventKind.BACKUP, name, None, None, started, utcnow(), False,
                             f"{kind}: {exc}", actor))  # fmt: skip
        return BackupOutcome(name, kind, None, time.monotonic() - began, mark, None, str(exc))
    record(engine, Event(EventKind.BACKUP, name, newest.label, "pgbackrest", started, utcnow(),
                         True, f"{kind} {newest.label}: {newest.delta} bytes copied, "
                         f"{newest.stored} stored", actor))  # fmt: skip
    proof = None
    after = source.verify_after_full if prove_after is None else prove_after
    if after and kind == "full":
        proof = verify(name, source, engine, None, actor=actor, backup=newest)
    return BackupOutcome(name, kind, newest, time.monotonic() - began, mark, proof)


def stale_chains(info: StanzaInfo, keep: timedelta, now: datetime) -> list[str]:
    """The first incremental/differential of each chain whose every member is older than
    ``keep``: expiring it takes the chain's later ones with it (they depend on it), so a
    chain goes only once its newest member is old enough; the full stays (full_retention)."""
    chains: dict[str, list[PhysicalBackup]] = {}
    for b in info.backups:
        if b.kind != "full":
            chains.setdefault(b.label.split("_")[0], []).append(b)
    return [members[0].label for members in chains.values()
            if max(m.finished_at for m in members) < now - keep]  # fmt: skip


def expire_incrementals(where: Layout, source: PgBackRestSource, now: datetime) -> list[str]:
    keep = timedelta(seconds=float(source.incremental_retention))
    gone = stale_chains(read(where, source.os_user), keep, now)
    for label in gone:
        run(where, source.os_user, ["expire", f"--set={label}"], timeout=1800)
    return gone


def archived_until(source: PgBackRestSource) -> datetime | None:
    """When the newest WAL segment reached the archive: the latest moment a restore can
    reach, about (None when the cluster cannot be asked)."""
    try:
        with connect(dsn_of(source)) as conn:
            row = conn.execute("SELECT last_archived_time AS t FROM pg_stat_archiver").fetchone()
    except OpsbookError:
        return None
    return row["t"] if row else None


def listing(name: str, source: PgBackRestSource) -> StanzaInfo:
    return read(layout(name, source), source.os_user)


def verify(
    name: str, source: PgBackRestSource, engine: Engine, target: datetime | None, *,
    actor: str, backup: PhysicalBackup | None = None, queries: tuple[str, ...] | None = None,
) -> Proof:  # fmt: skip
    """Prove by restore, recorded as a verify event of the backup used: to ``target`` (the
    marker rows up to it must be there, none after), or with no target ``backup`` (default:
    the newest) to its consistent point (the rows before it began must be there, none
    written after it ended)."""
    started = utcnow()
    if target is None and backup is None:
        found = listing(name, source).backups
        if not found:
            raise BackupError(f"{name} has no physical backup yet (opsbook backup run {name})")
        backup = found[-1]
    truth_at = target if target is not None else backup.started_at  # type: ignore[union-attr]
    # pgBackRest's times are whole seconds: its end may round down by one
    until = target or backup.finished_at + timedelta(seconds=1)  # type: ignore[union-attr]
    try:
        with connect(dsn_of(source)) as conn:
            truth: list[marker.Mark] | None = marker.up_to(conn, truth_at)
    except OpsbookError:
        truth = None  # the source is down (a disaster): the restore is checked on its own
    label = backup.label if target is None and backup is not None else None
    asked = source.verify_queries if queries is None else queries
    proof = prove(name, source, target, truth, connect, label=label, until=until, queries=asked)
    used = label or _backup_before(name, source, until)
    detail = proof.detail if truth is not None else proof.detail + " (source unreachable)"
    record(engine, Event(EventKind.VERIFY, name, used, "pgbackrest", started, utcnow(),
                         proof.ok, detail, actor))  # fmt: skip
    return proof


def _backup_before(name: str, source: PgBackRestSource, target: datetime) -> str | None:
    try:
        found = [b for b in listing(name, source).backups if b.finished_at <= target]
    except OpsbookError:
        return None
    return found[-1].label if found else None


def recent_moment(info: StanzaInfo, archived_until: datetime | None, now: datetime,
                  rng: random.Random) -> datetime | None:  # fmt: skip
    """A random moment of the last day that the archive covers: after the oldest backup's
    end, and before the newest archived WAL (with a margin); None when there is none."""
    start = max(now - timedelta(days=1), info.earliest_recoverable or now)
    end = (archived_until or now) - timedelta(seconds=5)
    if end <= start:
        return None
    return start + (end - start) * rng.random()


def random_proof(name: str, source: PgBackRestSource, engine: Engine, *, actor: str,
                 rng: random.Random | None = None) -> Proof:  # fmt: skip
    """The daily proof: a restore to a random moment of the last 24 h (so every hour of the
    chain gets tested over time), else the newest backup."""
    now = utcnow()
    info = listing(name, source)
    target = recent_moment(info, archived_until(source), now, rng or random.Random())
    return verify(name, source, engine, target, actor=actor)
