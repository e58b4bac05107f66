"""A local directory (or a mounted NFS / SMB share).

A run writes into ``.partial/<id>.<pid>/`` and, once every file and the manifest are written
and fsynced, renames that directory to ``<source>/<id>/``: one atomic step on the same
filesystem. A run that dies leaves only a ``.partial`` entry, which the next run removes once
its process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from opsbook.backups.manifest import MANIFEST, SAFE_NAME, safe_name
from opsbook.backups.repos.base import Located
from opsbook.errors import BackupError
from opsbook.identity import alive

PARTIAL = ".partial"


class FilesystemRepository:
    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.root = Path(path).expanduser()

    def describe(self) -> str:
        return f"{self.name} ({self.root})"

    def _fail(self, what: str, exc: OSError) -> BackupError:
        reason = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror
        return BackupError(f"repository {self.describe()}: {what}: {reason or exc}")

    def _path(self, *names: str) -> Path:
        """root/<source>/<id>[/<file>], every part checked, the result under the root."""
        path = self.root.joinpath(*(safe_name(n, "name") for n in names))
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise BackupError(f"repository {self.describe()}: {'/'.join(names)} leads outside it")
        return path

    def begin(self, source: str, backup_id: str) -> _FsStaging:
        final = self._path(source, backup_id)
        staging = self.root / PARTIAL / f"{backup_id}.{os.getpid()}"
        try:
            # Owner only: encrypted or not, a backup is the whole database.
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            (self.root / PARTIAL).mkdir(mode=0o700, exist_ok=True)
            staging.mkdir(mode=0o700)
        except OSError as exc:
            raise self._fail("cannot create the backup directory", exc) from None
        return _FsStaging(self, staging, final)

    def published(self) -> Iterator[Located]:
        if not self.root.is_dir():
            return
        for source_dir in sorted(self.root.iterdir()):
            if not SAFE_NAME.fullmatch(source_dir.name) or not _real_dir(source_dir):
                continue  # .partial, and anything opsbook would never have written
            for backup_dir in sorted(source_dir.iterdir()):
                if not SAFE_NAME.fullmatch(backup_dir.name) or not _real_dir(backup_dir):
                    continue
                manifest = backup_dir / MANIFEST
                try:
                    data = manifest.read_bytes()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise self._fail(f"cannot read {manifest}", exc) from None
                yield Located(self.name, source_dir.name, backup_dir.name, data)

    def open_file(self, source: str, backup_id: str, file: str) -> IO[bytes]:
        path = self._path(source, backup_id, file)
        try:
            return path.open("rb")
        except OSError as exc:
            raise self._fail(f"cannot read {path}", exc) from None

    def delete(self, source: str, backup_id: str) -> None:
        where = self._path(source, backup_id)
        # The manifest goes first: a half-deleted backup is never listed as complete.
        with contextlib.suppress(FileNotFoundError):
            (where / MANIFEST).unlink()
        shutil.rmtree(where, ignore_errors=True)

    def clean_stale(self) -> list[str]:
        """Remove what runs that died left in .partial (their process is gone)."""
        removed: list[str] = []
        partial = self.root / PARTIAL
        if not partial.is_dir():
            return removed
        for entry in partial.iterdir():
            pid = entry.name.rsplit(".", 1)[-1]
            if pid.isdigit() and alive(int(pid)):
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name.rsplit(".", 1)[0])
        return removed


def _real_dir(path: Path) -> bool:
    """A directory, not a symlink to one (which could point anywhere)."""
    return path.is_dir() and not path.is_symlink()


class _FsStaging:
    def __init__(self, repo: FilesystemRepository, staging: Path, final: Path) -> None:
        self.repo = repo
        self.staging = staging
        self.final = final
        self.files: dict[str, _FsWriter] = {}

    def open(self, file: str) -> _FsWriter:
        try:
            fd = os.open(self.staging / file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            handle = os.fdopen(fd, "wb")
        except OSError as exc:
            raise self.repo._fail(f"cannot create {file}", exc) from None
        writer = _FsWriter(self.repo, handle, file)
        self.files[file] = writer
        return writer

    def close_file(self, file: str) -> None:
        self.files[file].close()

    def publish(self, manifest: bytes) -> None:
        try:
            for writer in self.files.values():
                writer.close()
            path = self.staging / MANIFEST
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(manifest)
                handle.flush()
                os.fsync(handle.fileno())
            _fsync_dir(self.staging)
            self.final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.staging.rename(self.final)
            _fsync_dir(self.final.parent)
        except OSError as exc:
            raise self.repo._fail("cannot publish the backup", exc) from None

    def abort(self) -> None:
        for writer in self.files.values():
            with contextlib.suppress(OSError):
                writer.handle.close()
        shutil.rmtree(self.staging, ignore_errors=True)


class _FsWriter:
    def __init__(self, repo: FilesystemRepository, handle: Any, file: str) -> None:
        self.repo = repo
        self.handle = handle
        self.file = file
        self.written = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        try:
            self.handle.write(data)
        except OSError as exc:
            raise self.repo._fail(
                f"writing {self.file} failed after {self.written / 1e6:.1f} MB", exc
            ) from None
        self.written += len(data)
        return len(data)

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
        except OSError as exc:
            raise self.repo._fail(f"writing {self.file} failed", exc) from None
        self.closed = True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
