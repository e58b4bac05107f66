"""Configuration files: a tar of the configured paths (nginx, the application's env, …)."""

from __future__ import annotations

from pathlib import Path

from opsbook.backups.sources.base import Captured, Emit
from opsbook.backups.sources.tarstream import tar_stream
from opsbook.config.backups import FilesSource
from opsbook.errors import BackupError


def dump(config: FilesSource, emit: Emit) -> Captured:
    paths = []
    for text in config.paths:
        path = Path(text).expanduser()
        if not path.exists():
            raise BackupError(f"paths: {text} does not exist")
        paths.append((path, str(path).lstrip("/")))
    with tar_stream(paths, config.exclude) as stream:
        emit("files", "files.tar.zst.age", "tar", stream)
    return Captured(target=", ".join(config.paths), details={"paths": list(config.paths)})
