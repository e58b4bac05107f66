"""The backup jobs as the CLI and ``opsbook serve`` both run them: under a job lock, with
every outcome recorded in the store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from opsbook.backups import records, retention
from opsbook.backups.catalog import Entry, catalog, repositories
from opsbook.backups.manifest import Artifact, encode
from opsbook.backups.records import Event, EventKind
from opsbook.backups.repos.base import Repository, Staging
from opsbook.backups.run import RunResult, run_backup
from opsbook.backups.signing import authenticated
from opsbook.backups.verify import Verified, verify
from opsbook.config.backups import Backups
from opsbook.errors import BackupError, IntegrityError, JobBusy, OpsbookError
from opsbook.progress import Progress
from opsbook.timefmt import zone

LOCK_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class BackupOutcome:
    result: RunResult
    verified: Verified | None = None

    @property
    def ok(self) -> bool:
        """Stored in every repository, and verified if verification was asked for."""
        return not self.result.failed and (self.verified is None or self.verified.ok)

    def line(self) -> str:
        text = f"{self.result.manifest.id} stored in {', '.join(self.result.published)}"
        if self.result.failed:
            text += f"; FAILED in {', '.join(self.result.failed)}"
        if self.verified is not None:
            text += "; verified" if self.verified.ok else "; VERIFY FAILED"
        return text


def _locked(engine: Engine, name: str) -> None:
    if not records.claim(engine, name, LOCK_TTL):
        raise JobBusy(f"another {name.replace(':', ' of ')} is running (job lock {name!r})")


def backup(
    backups: Backups,
    engine: Engine,
    source: str,
    *,
    actor: str = "",
    progress: Progress | None = None,
    verify_progress: Progress | None = None,
    identity: str | None = None,
) -> BackupOutcome:
    lock = f"backup:{source}"
    _locked(engine, lock)
    started = datetime.now(UTC)
    try:
        try:
            result = run_backup(backups, source, progress=progress)
        except OpsbookError as exc:  # a backup that failed for any reason we know is recorded
            records.record(engine, Event(EventKind.BACKUP, source, None, None, started,
                                         datetime.now(UTC), False, str(exc), actor))  # fmt: skip
            raise
        failed = "; ".join(f"{r}: {why}" for r, why in result.failed.items())
        detail = f"{result.manifest.stored_bytes} bytes stored in {', '.join(result.published)}"
        records.record(engine, Event(EventKind.BACKUP, source, result.manifest.id,
                                     ",".join(result.published), started, datetime.now(UTC),
                                     not failed, detail + (f"; failed: {failed}" if failed else ""),
                                     actor))  # fmt: skip
    finally:
        records.release(engine, lock)
    verified = None
    if backups.settings.verify_after_backup:
        entry = Entry(result.manifest, result.published)
        verified = verify_entry(backups, engine, entry, actor=actor, identity=identity,
                                progress=verify_progress)  # fmt: skip
    return BackupOutcome(result, verified)


def verify_entry(
    backups: Backups,
    engine: Engine,
    entry: Entry,
    *,
    repo: str | None = None,
    actor: str = "",
    identity: str | None = None,
    progress: Progress | None = None,
) -> Verified:
    with records.lease(engine, entry.id, "verify"):
        outcome = verify(backups, entry, repo=repo, identity=identity, progress=progress)
    records.record(engine, Event(EventKind.VERIFY, entry.manifest.source, entry.id, outcome.repo,
                                 outcome.started_at, datetime.now(UTC), outcome.ok,
                                 outcome.detail, actor))  # fmt: skip
    return outcome


def unverified(backups: Backups, engine: Engine, source: str | None = None) -> list[Entry]:
    done = records.verifications(engine)
    return [e for e in catalog(backups, source=source) if e.id not in done]


@dataclass(frozen=True)
class PruneOutcome:
    decisions: list[retention.Decision] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def prune(
    backups: Backups, engine: Engine, *, dry_run: bool, timezone: str | None, actor: str = ""
) -> PruneOutcome:
    lock = "prune"
    if not dry_run:
        _locked(engine, lock)
    try:
        outcome = PruneOutcome()
        verified = {k for k, v in records.verifications(engine).items() if v.ok}
        busy = records.leased(engine)
        now = datetime.now(UTC)
        entries = catalog(backups)
        repos = {r.name: r for r in repositories(backups)}
        for name, source in backups.sources.items():
            mine = [e for e in entries if e.manifest.source == name]
            decisions = retention.decide(mine, source.keep, now, verified=verified,
                                         in_use=busy, tz=zone(timezone))  # fmt: skip
            outcome.decisions.extend(decisions)
            if dry_run:
                continue
            for decision in decisions:
                if decision.keep:
                    continue
                started = datetime.now(UTC)
                try:
                    for repo_name in decision.entry.repos:
                        repos[repo_name].delete(name, decision.entry.id)
                except BackupError as exc:
                    outcome.errors.append(str(exc))
                    ok, detail = False, str(exc)
                else:
                    outcome.deleted.append(decision.entry.id)
                    ok, detail = True, f"deleted: {decision.why}"
                records.record(engine, Event(EventKind.PRUNE, name, decision.entry.id,
                                             ",".join(decision.entry.repos), started,
                                             datetime.now(UTC), ok, detail, actor))  # fmt: skip
        return outcome
    finally:
        if not dry_run:
            records.release(engine, lock)


def copy(backups: Backups, engine: Engine, entry: Entry, to: str, *, actor: str = "") -> None:
    """Copy the stored (still encrypted) files to another repository, checking each checksum."""
    if to in entry.repos:
        raise BackupError(f"backup {entry.id} is already in {to}")
    repos = {r.name: r for r in repositories(backups)}
    if to not in repos:
        known = ", ".join(repos)
        raise BackupError(f"no repository named {to!r} (repositories: {known})")
    source_repo = repos[entry.repos[0]]
    target = repos[to]
    manifest = entry.manifest
    authenticated(backups, manifest)  # a planted backup is not spread to other repositories
    started = datetime.now(UTC)
    staging = target.begin(manifest.source, manifest.id)
    try:
        with records.lease(engine, entry.id, "copy"):
            for artifact in manifest.artifacts:
                _copy_artifact(source_repo, staging, manifest.source, manifest.id, artifact)
                staging.close_file(artifact.file)
            staging.publish(encode(manifest))
    except BaseException as exc:
        staging.abort()
        if isinstance(exc, BackupError):
            failure = Event(EventKind.COPY, manifest.source, manifest.id, to, started,
                            datetime.now(UTC), False, str(exc), actor)  # fmt: skip
            records.record(engine, failure)
        raise
    records.record(engine, Event(EventKind.COPY, manifest.source, manifest.id, to, started,
                                 datetime.now(UTC), True, f"copied from {source_repo.name}",
                                 actor))  # fmt: skip


def _copy_artifact(
    source_repo: Repository, staging: Staging, source: str, backup_id: str, artifact: Artifact
) -> None:
    stream = source_repo.open_file(source, backup_id, artifact.file)
    writer = staging.open(artifact.file)
    sha = hashlib.sha256()
    try:
        while chunk := stream.read(1 << 20):
            sha.update(chunk)
            writer.write(chunk)
    finally:
        stream.close()
    if sha.hexdigest() != artifact.sha256:
        raise IntegrityError(
            f"backup {backup_id} {artifact.name} in {source_repo.describe()}: "
            "stored data does not match its checksum; not copied"
        )
