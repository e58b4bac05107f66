"""on_change detection on a clock the test controls: a settled change is due once, an
excluded file is no change, several files written together are one change."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsbook.backups.changes import SETTLE, ChangeDetector
from opsbook.config.backups import FilesSource

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def touch(path: Path, text: str, mtime: float) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))  # distinct times even within one clock tick


def source(root: Path) -> FilesSource:
    return FilesSource(paths=(str(root),), exclude=("*.swp",), on_change=True)


def test_an_excluded_file_is_not_a_change(tmp_path: Path) -> None:
    touch(tmp_path / "app.env", "WORKERS=4\n", 1000)
    detector = ChangeDetector(source(tmp_path), at(0), saved=True)
    touch(tmp_path / "app.env.swp", "editor junk", 1001)
    assert not any(detector.due(at(s)) for s in (2, 4, 6, 60, 600))


def test_files_written_together_are_one_backup_once_the_change_has_settled(
    tmp_path: Path,
) -> None:
    touch(tmp_path / "app.env", "WORKERS=4\n", 1000)
    detector = ChangeDetector(source(tmp_path), at(0), saved=True)
    assert not detector.due(at(2))
    touch(tmp_path / "app.env", "WORKERS=8\n", 1010)
    assert not detector.due(at(4))  # just changed
    touch(tmp_path / "nginx.conf", "worker_processes 2;\n", 1011)  # a deploy writes another
    assert not detector.due(at(6))  # still changing: the quiet period starts again
    assert not detector.due(at(6 + SETTLE - 1))
    assert detector.due(at(6 + SETTLE))  # settled: one backup
    assert not any(detector.due(at(s)) for s in (20, 40, 600))  # and only one


def test_with_no_backup_yet_the_first_look_asks_for_one(tmp_path: Path) -> None:
    touch(tmp_path / "app.env", "WORKERS=4\n", 1000)
    detector = ChangeDetector(source(tmp_path), at(0), saved=False)
    detector.due(at(0))
    assert detector.due(at(SETTLE))
    assert not detector.due(at(SETTLE + 60))
