"""A tar of files as a stream: written by a thread into a pipe the pipeline reads."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import tarfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from opsbook.errors import BackupError


def excluded(name: str, patterns: Sequence[str]) -> bool:
    """Whether an archive name (a path without its leading /) matches an exclude glob,
    as a whole or by its last part."""
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(Path(name).name, p) for p in patterns)


@contextlib.contextmanager
def tar_stream(paths: Sequence[tuple[Path, str]], exclude: Sequence[str] = ()) -> Iterator[Any]:
    """``paths``: (path on disk, name in the archive). Exclusions are globs on either."""
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def skip(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if excluded(info.name, exclude) else info

    def write() -> None:
        try:
            with os.fdopen(write_fd, "wb") as out, tarfile.open(fileobj=out, mode="w|") as tar:
                for path, arcname in paths:
                    tar.add(path, arcname=arcname, filter=skip)
        except BrokenPipeError:
            pass  # the reader stopped (its own error is the one reported)
        except BaseException as exc:
            failure.append(exc)

    writer = threading.Thread(target=write, name="opsbook-tar", daemon=True)
    writer.start()
    with os.fdopen(read_fd, "rb") as stream:
        yield stream
    writer.join()
    if failure:
        exc = failure[0]
        text = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) else str(exc)
        raise BackupError(f"cannot read files to back up: {text}")
