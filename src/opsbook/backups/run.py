"""One backup of one source, into every repository it names, in one pass.

The stream is written to all repositories at once. If one of them fails mid-way (an
off-site endpoint goes down, a local disk fills up) the others carry on and the backup is
published where it is complete; the run still reports the failure. If every repository
fails, or the source does (pg_dump error, killed), nothing is published anywhere and the
partial files are removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from opsbook.backups import pipeline
from opsbook.backups.catalog import repositories
from opsbook.backups.crypto import Sealer, sealer
from opsbook.backups.manifest import Artifact, Manifest, encode, new_id
from opsbook.backups.repos.base import Staging
from opsbook.backups.signing import load_signer, sign
from opsbook.backups.sources.base import Captured
from opsbook.config.backups import Backups, FilesSource, PostgresSource, RedisSource, SourceBase
from opsbook.errors import BackupError, UsageError
from opsbook.progress import Progress


@dataclass(frozen=True)
class RunResult:
    manifest: Manifest
    published: tuple[str, ...]
    failed: dict[str, str] = field(default_factory=dict)  # repository -> why
    cleaned: tuple[str, ...] = ()  # stale partial runs removed first


class _Target:
    """One repository's staging, dropped from the stream if it fails."""

    def __init__(self, name: str, staging: Staging) -> None:
        self.name = name
        self.staging = staging
        self.error: str | None = None
        self.writer: Any = None

    def write(self, data: bytes) -> int:
        if self.error is None:
            try:
                self.writer.write(data)
            except BackupError as exc:
                self.error = str(exc)
        return len(data)


def source_of(backups: Backups, name: str) -> SourceBase:
    source = backups.sources.get(name)
    if source is None:
        known = ", ".join(backups.sources) or "none"
        raise UsageError(f"no backup source named {name!r} (sources: {known})")
    return source


def run_backup(
    backups: Backups,
    name: str,
    *,
    progress: Progress | None = None,
    on_line: Callable[[str], None] | None = None,
) -> RunResult:
    source = source_of(backups, name)
    repos = repositories(backups, backups.repos_for(source))
    cleaned: list[str] = []
    for repo in repos:
        cleaned += repo.clean_stale()
    seal = sealer(backups.encryption)
    key_file = backups.settings.signing_key_file
    signer = load_signer(key_file) if key_file else None
    backup_id = new_id(name)
    started = datetime.now(UTC)
    targets: list[_Target] = []
    try:
        for repo in repos:
            targets.append(_Target(repo.name, repo.begin(name, backup_id)))
    except BaseException:
        for target in targets:
            target.staging.abort()
        raise
    emit = _Emitter(targets, seal, source.compression_level, progress)
    try:
        captured = _capture(source, emit, on_line)
        manifest = Manifest(
            id=backup_id,
            source=name,
            kind=source.kind.value,
            target=captured.target,
            started_at=started,
            finished_at=datetime.now(UTC),
            encryption=seal.encryption,
            compression=f"zstd-{source.compression_level}",
            artifacts=tuple(emit.artifacts),
            database=captured.database,
            server_version=captured.server_version,
            tool_version=captured.tool_version,
            snapshot=captured.snapshot,
            tables=captured.tables,
            details=captured.details,
        )
        if signer is not None:
            manifest = sign(manifest, signer)
        data = encode(manifest)
        for target in targets:
            if target.error is None:
                try:
                    target.staging.publish(data)
                except BackupError as exc:
                    target.error = str(exc)
    except BaseException:
        for target in targets:
            target.staging.abort()
        raise
    for target in targets:
        if target.error is not None:
            target.staging.abort()
    published = tuple(t.name for t in targets if t.error is None)
    if not published:
        raise BackupError(_all_failed(targets))
    failed = {t.name: t.error for t in targets if t.error is not None}
    return RunResult(manifest, published, failed, tuple(cleaned))


class _Emitter:
    """Stores each stream a source hands over into every repository still standing."""

    def __init__(
        self, targets: list[_Target], seal: Sealer, level: int, progress: Progress | None
    ) -> None:
        self.targets = targets
        self.seal = seal
        self.level = level
        self.progress = progress
        self.artifacts: list[Artifact] = []

    def __call__(self, artifact: str, file: str, fmt: str, stream: BinaryIO) -> None:
        for target in self.targets:
            if target.error is None:
                try:
                    target.writer = target.staging.open(file)
                except BackupError as exc:
                    target.error = str(exc)
        live = [t for t in self.targets if t.error is None]
        if not live:
            raise BackupError(_all_failed(self.targets))
        progress = self.progress
        report = (lambda n, _="": progress(n, artifact)) if progress else None
        stored = pipeline.store(stream, live, self.seal, level=self.level, progress=report)
        for target in live:
            if target.error is None:
                try:
                    target.staging.close_file(file)
                except BackupError as exc:
                    target.error = str(exc)
        if all(t.error is not None for t in self.targets):
            raise BackupError(_all_failed(self.targets))
        self.artifacts.append(
            Artifact(name=artifact, file=file, format=fmt, raw_bytes=stored.raw_bytes,
                     stored_bytes=stored.stored_bytes, sha256=stored.sha256)
        )  # fmt: skip


def _all_failed(targets: list[_Target]) -> str:
    reasons = "; ".join(t.error or "" for t in targets if t.error)
    return f"no repository could store the backup: {reasons}"


def _capture(source: SourceBase, emit: Any, on_line: Callable[[str], None] | None) -> Captured:
    if isinstance(source, PostgresSource):
        from opsbook.backups.sources import postgres

        return postgres.dump(source, emit, on_line=on_line)
    if isinstance(source, RedisSource) and source.method == "bgsave":
        from opsbook.backups.sources import redis_bgsave

        return redis_bgsave.dump(source, emit)
    if isinstance(source, RedisSource):
        from opsbook.backups.sources import redis

        return redis.dump(source, emit)
    assert isinstance(source, FilesSource)
    from opsbook.backups.sources import files

    return files.dump(source, emit)
