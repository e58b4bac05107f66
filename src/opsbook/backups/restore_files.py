"""``opsbook backup restore`` for Redis and configuration-file backups: to a path.

Redis: the RDB is written beside the target, checked (header; every key with
redis-check-rdb when installed) and only then renamed over it, so a failed restore never
leaves Redis a half-written dump.rdb. Files: the tar is unpacked into a directory with
``tarfile``'s ``data`` filter (no absolute paths, no ``..``, no device files, no links
leaving the tree), so a tampered archive cannot write outside it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from opsbook.backups import pipeline, records
from opsbook.backups.catalog import Entry, repositories
from opsbook.backups.crypto import opener
from opsbook.backups.records import Event, EventKind
from opsbook.backups.restore import first_repo, untar_into
from opsbook.backups.restore_job import Restored
from opsbook.backups.signing import authenticated
from opsbook.config.backups import Backups
from opsbook.errors import BackupError
from opsbook.progress import Progress

ARTIFACTS = {"redis": "rdb", "files": "files"}


def restore_to_path(
    backups: Backups,
    engine: Engine,
    entry: Entry,
    target: Path,
    *,
    force: bool = False,
    repo: str | None = None,
    identity: str | None = None,
    actor: str = "",
    confirm: Callable[[str], bool] | None = None,
    progress: Progress | None = None,
) -> Restored:
    manifest = entry.manifest
    artifact = manifest.artifact(ARTIFACTS[manifest.kind])
    if artifact is None:
        raise BackupError(f"backup {manifest.id} has no {ARTIFACTS[manifest.kind]} artifact")
    redis = manifest.kind == "redis"
    _check_target(target, redis=redis, force=force)
    authenticated(backups, manifest)
    if confirm is not None:
        what = "replaces it" if target.exists() else "creates it"
        if not confirm(f"Restore {manifest.id} to {target} ({what})?"):
            raise BackupError("restore cancelled; nothing was changed")
    chosen = first_repo(entry, {r.name: r for r in repositories(backups, entry.repos)}, repo)
    open_ = opener(manifest.encryption, identity=identity, config=backups.encryption)
    what = f"backup {manifest.id} {artifact.file} in {chosen.describe()}"
    started, start = datetime.now(UTC), time.monotonic()
    try:
        with records.lease(engine, manifest.id, "restore"):
            stored = chosen.open_file(manifest.source, manifest.id, artifact.file)
            try:
                fetch = functools.partial(pipeline.fetch, stored, opener=open_,
                                          expected_sha256=artifact.sha256, what=what,
                                          progress=progress)  # fmt: skip
                detail = _rdb(target, fetch) if redis else _files(target, fetch)
            finally:
                with contextlib.suppress(Exception):
                    stored.close()
    except BackupError as exc:
        records.record(engine, Event(EventKind.RESTORE, manifest.source, manifest.id,
                                     chosen.name, started, datetime.now(UTC), False,
                                     f"to {target}: {exc}", actor))  # fmt: skip
        raise
    records.record(engine, Event(EventKind.RESTORE, manifest.source, manifest.id, chosen.name,
                                 started, datetime.now(UTC), True, f"to {target}: {detail}",
                                 actor))  # fmt: skip
    return Restored(manifest.id, str(target), True, detail, time.monotonic() - start)


def _check_target(target: Path, *, redis: bool, force: bool) -> None:
    if redis:
        if target.is_dir():
            raise BackupError(f"{target} is a directory; give the RDB file's path (…/dump.rdb)")
        if target.exists() and not force:
            raise BackupError(
                f"{target} exists; give --force to replace it (stop Redis first, or it will "
                "write its own dump over the restored one)"
            )
        if not target.parent.is_dir():
            raise BackupError(f"{target.parent} does not exist")
        return
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise BackupError(
            f"{target} is not empty; restore into an empty directory, or give --force to "
            "write over the files there"
        )


def _rdb(target: Path, fetch: Callable[[Any], object]) -> str:
    # A name of its own (O_EXCL, 0600), never a predictable one: a symlink planted at a
    # guessable path would have had the restore write through it.
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".opsbook-partial",
                                    dir=target.parent)  # fmt: skip
    except OSError as exc:
        raise BackupError(f"cannot write beside {target}: {exc.strerror or exc}") from None
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as sink:
            fetch(sink)
            sink.flush()
            os.fsync(sink.fileno())
        with partial.open("rb") as head:
            if not head.read(5) == b"REDIS":
                raise BackupError("the restored file is not an RDB snapshot (no REDIS header)")
        keys = _check_rdb(partial)
        partial.replace(target)
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    size = target.stat().st_size
    return f"{keys} written to {target} ({size} bytes); start Redis with this file as its dump"


def _owners_like(source: Path, target: Path) -> None:
    for path in source.rglob("*"):
        st = path.lstat()
        os.lchown(target / path.relative_to(source), st.st_uid, st.st_gid)


def _check_rdb(path: Path) -> str:
    tool = shutil.which("redis-check-rdb")
    if tool is None:
        return "an RDB (install redis-tools to count its keys)"
    done = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=600,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        last = (done.stdout + done.stderr).strip().splitlines()
        raise BackupError(f"redis-check-rdb rejects the restored file: {last[-1] if last else ''}")
    keys = re.search(r"(\d+) keys read", done.stdout)
    return f"an RDB of {keys.group(1) if keys else '?'} keys"


def _files(target: Path, fetch: Callable[[Any], object]) -> str:
    """Unpacked beside the target first and moved in only once the checksum held, so a
    tampered or truncated backup leaves the target as it was."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".opsbook-partial",
                                        dir=target.parent))  # fmt: skip
    except OSError as exc:
        raise BackupError(f"cannot write under {target}: {exc.strerror or exc}") from None
    try:
        keep = os.geteuid() == 0  # only root can give files back to their owners
        with untar_into(staging, "the backup", keep_owner=keep) as (sink, unpacked):
            fetch(sink)
        if target.exists():
            shutil.copytree(staging, target, symlinks=True, dirs_exist_ok=True)
            if keep:  # copytree keeps modes and times, not owners
                _owners_like(staging, target)
        else:
            staging.rename(target)
    except OSError as exc:
        raise BackupError(f"cannot write under {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return f"{unpacked.members} files and directories restored under {target}"
