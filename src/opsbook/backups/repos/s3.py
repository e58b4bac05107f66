"""A backup repository in S3-compatible object storage (clients/s3.py speaks to the bucket).

Data objects stream up as multipart uploads in 16 MiB parts (memory stays at one part);
the manifest is a single PUT made last, and listings look only at manifests, so a run that
dies leaves nothing listed: its multipart upload is aborted on error, or by a later
``clean_stale`` once it is a day old if the process was killed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsbook.backups.manifest import MANIFEST, SAFE_NAME, safe_name
from opsbook.backups.repos.base import Located
from opsbook.clients.s3 import Bucket
from opsbook.config.backups import S3Repo
from opsbook.errors import BackupError, RemoteStorageError

PART = 16 << 20
STALE_AFTER = timedelta(days=1)


class S3Repository:
    def __init__(self, name: str, config: S3Repo) -> None:
        self.name = name
        self.config = config
        self.prefix = config.prefix.lstrip("/")
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        self.bucket = Bucket(
            config.bucket,
            endpoint=config.endpoint,
            region=config.region,
            access_key_id=config.access_key_id,
            secret_access_key=secret_of(config),
            profile=config.profile,
            ca_file=config.ca_file,
        )

    def describe(self) -> str:
        where = self.config.endpoint or "aws"
        return f"{self.name} (s3://{self.config.bucket}/{self.prefix} at {where})"

    @contextlib.contextmanager
    def failing_as_backup(self) -> Iterator[None]:
        """The bucket's errors, as this repository's."""
        try:
            yield
        except RemoteStorageError as exc:
            raise BackupError(f"repository {self.describe()}: {exc}") from None

    def _key(self, source: str, backup_id: str, file: str = "") -> str:
        """prefix<source>/<id>/<file>, every part checked (an object key is a path too)."""
        parts = [safe_name(source, "source"), safe_name(backup_id, "backup ID")]
        return f"{self.prefix}{'/'.join(parts)}/" + (safe_name(file, "file") if file else "")

    def begin(self, source: str, backup_id: str) -> _S3Staging:
        return _S3Staging(self, source, backup_id)

    def published(self) -> Iterator[Located]:
        with self.failing_as_backup():
            for key in self.bucket.keys(self.prefix):
                parts = key[len(self.prefix) :].split("/")
                if (
                    len(parts) == 3
                    and parts[2] == MANIFEST
                    and all(SAFE_NAME.fullmatch(p) for p in parts[:2])
                ):
                    yield Located(self.name, parts[0], parts[1], self.bucket.get(key))

    def open_file(self, source: str, backup_id: str, file: str) -> Any:
        with self.failing_as_backup():
            return _Stream(self, self.bucket.open(self._key(source, backup_id, file)))

    def delete(self, source: str, backup_id: str) -> None:
        head = self._key(source, backup_id)
        with self.failing_as_backup():
            self.bucket.delete(head + MANIFEST)  # first: the backup is no longer listed
            for key in list(self.bucket.keys(head)):
                self.bucket.delete(key)

    def clean_stale(self) -> list[str]:
        """Abort multipart uploads of runs that died more than a day ago."""
        cutoff = datetime.now(UTC) - STALE_AFTER
        removed = []
        with self.failing_as_backup():
            for upload in self.bucket.uploads(self.prefix):
                if upload.initiated < cutoff:
                    self.bucket.abort_upload(upload.key, upload.upload_id)
                    removed.append(upload.key)
        return removed


class _Stream:
    """A stored file being read: the bucket's read errors become this repository's."""

    def __init__(self, repo: S3Repository, body: Any) -> None:
        self.repo = repo
        self.body = body

    def read(self, size: int = -1) -> bytes:
        with self.repo.failing_as_backup():
            data: bytes = self.body.read(size)
            return data

    def close(self) -> None:
        self.body.close()


class _S3Staging:
    def __init__(self, repo: S3Repository, source: str, backup_id: str) -> None:
        self.repo = repo
        self.source = source
        self.backup_id = backup_id
        self.files: dict[str, _S3Writer] = {}

    def open(self, file: str) -> _S3Writer:
        writer = _S3Writer(self.repo, self.repo._key(self.source, self.backup_id, file))
        self.files[file] = writer
        return writer

    def close_file(self, file: str) -> None:
        self.files[file].close()

    def publish(self, manifest: bytes) -> None:
        for writer in self.files.values():
            writer.close()
        key = self.repo._key(self.source, self.backup_id, MANIFEST)
        with self.repo.failing_as_backup():
            self.repo.bucket.put(key, manifest, "cannot publish the backup")

    def abort(self) -> None:
        for writer in self.files.values():
            writer.abort()
        # Best effort: nothing is listed without a manifest anyway.
        with contextlib.suppress(BackupError):
            self.repo.delete(self.source, self.backup_id)


class _S3Writer:
    def __init__(self, repo: S3Repository, key: str) -> None:
        self.repo = repo
        self.bucket = repo.bucket
        self.key = key
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []
        self.upload_id: str | None = None
        self.closed = False
        self.written = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.written += len(data)
        if len(self.buffer) >= PART:
            self._flush_part()
        return len(data)

    def _flush_part(self) -> None:
        what = f"uploading {Path(self.key).name} failed after {self.written / 1e6:.1f} MB"
        with self.repo.failing_as_backup():
            if self.upload_id is None:
                self.upload_id = self.bucket.start_upload(self.key, what)
            number = len(self.parts) + 1
            etag = self.bucket.upload_part(
                self.key, self.upload_id, number, bytes(self.buffer), what
            )
        self.parts.append({"PartNumber": number, "ETag": etag})
        self.buffer.clear()

    def close(self) -> None:
        if self.closed:
            return
        what = f"finishing {Path(self.key).name} failed"
        with self.repo.failing_as_backup():
            if self.upload_id is None:  # small: one PUT
                self.bucket.put(self.key, bytes(self.buffer), what)
            else:
                if self.buffer:
                    self._flush_part()
                self.bucket.finish_upload(self.key, self.upload_id, self.parts, what)
        self.buffer.clear()
        self.closed = True

    def abort(self) -> None:
        if self.upload_id is not None and not self.closed:
            # Best effort; clean_stale aborts it a day later if this fails.
            with contextlib.suppress(RemoteStorageError):
                self.bucket.abort_upload(self.key, self.upload_id)
        self.buffer.clear()


def secret_of(config: S3Repo) -> str | None:
    if config.secret_access_key:
        return config.secret_access_key
    if config.secret_access_key_file:
        try:
            return Path(config.secret_access_key_file).read_text().strip()
        except OSError as exc:
            raise BackupError(
                f"secret_access_key_file: cannot read {config.secret_access_key_file}: "
                f"{exc.strerror}"
            ) from None
    return None
