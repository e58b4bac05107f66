"""The runbook's "configuration backups after every change": `on_change: true` files
sources are looked at every few seconds by `opsbook serve`, and backed up once a change
has settled (an editor's save, or a deploy writing several files, is one backup, not ten).

Polling sizes and modification times rather than inotify: it needs no extra library, works
on every filesystem (inotify misses changes on NFS and in bind mounts), and configuration
trees are small.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

from opsbook.backups.sources.tarstream import excluded
from opsbook.config.backups import FilesSource

POLL = 2.0  # seconds between looks
SETTLE = 5.0  # a change must have been quiet this long before it is backed up


def fingerprint(source: FilesSource) -> str:
    """A digest of every included file's path, size and modification time."""
    digest = hashlib.sha256()
    for text in source.paths:
        root = Path(text).expanduser()
        if root.is_file() or not root.exists():
            _add(digest, root, source.exclude)
            continue
        for directory, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                _add(digest, Path(directory) / name, source.exclude)
    return digest.hexdigest()


def _add(digest: hashlib._Hash, path: Path, exclude: tuple[str, ...]) -> None:
    if excluded(str(path).lstrip("/"), exclude):
        return
    try:
        st = path.stat()
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    except OSError:
        digest.update(f"{path}\0missing\n".encode())


class ChangeDetector:
    def __init__(self, source: FilesSource, now: datetime, *, saved: bool) -> None:
        """``saved``: a backup of this source exists; then what the daemon finds at start
        counts as saved, else the first look takes one."""
        self.source = source
        self.backed_up = fingerprint(source) if saved else ""
        self.seen = self.backed_up
        self.changed_at = now

    def due(self, now: datetime) -> bool:
        """Whether a settled change is waiting for its backup (then it counts as taken)."""
        current = fingerprint(self.source)
        if current == self.backed_up:
            self.seen = current
            return False
        if current != self.seen:
            self.seen, self.changed_at = current, now
            return False
        if (now - self.changed_at).total_seconds() < SETTLE:
            return False
        self.backed_up = current
        return True
