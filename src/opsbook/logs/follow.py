"""Following a log file the way ``tail -F`` does, across rotation and truncation.

- Rotation by rename (logrotate's default, nginx reopening on USR1): the path now names a
  new inode. The old file is read to its end first (nginx may have written its last lines
  after our previous read), then the new one from its start; and the old one stays open
  and is read again on every call until nginx has moved to the new file (the old one is
  quiet while the new one grows), since between logrotate's rename and nginx's reopen the
  lines still go to the old file.
- copytruncate: same inode, but the file is now shorter than what was read, or (when it
  has already grown back past that point) the bytes just before our offset changed: start
  over at 0.
- The file missing for a moment (between rename and reopen): not an error while the old
  file is still open; an error when there was never a file.

The first read starts at most ``tail_bytes`` before the end, at a line boundary, so
following a 10 GB log does not mean reading 10 GB.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Generic, Protocol, TypeVar

from opsbook.errors import LogError
from opsbook.logs.reader import MAX_LINE

TAIL_BYTES = 64 << 20
READ_LIMIT = 256 << 20  # per call: a burst is read over several runs, memory stays bounded
_MARK = 64  # bytes before the offset remembered to notice a file rewritten from the start


@dataclass(frozen=True, slots=True)
class Read:
    data: bytes  # whole lines only
    rotated: bool = False
    truncated: bool = False


class Follower:
    def __init__(self, path: str, tail_bytes: int = TAIL_BYTES) -> None:
        self.path = path
        self.tail_bytes = tail_bytes
        self._fh: BinaryIO | None = None
        self._inode: tuple[int, int] | None = None
        self._offset = 0
        self._carry = b""
        self._mark = b""
        self._opened_once = False
        self._old: BinaryIO | None = None  # the rotated file, until its writer has moved on
        self._old_carry = b""

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._close_old()

    def _close_old(self) -> None:
        if self._old is not None:
            self._old.close()
            self._old, self._old_carry = None, b""

    def _from_old(self) -> bytes:
        """Whole lines written to the rotated file since the last read."""
        if self._old is None:
            return b""
        data = self._old_carry + self._old.read(READ_LIMIT)
        cut = data.rfind(b"\n")
        self._old_carry = data[cut + 1 :]
        return data[: cut + 1]

    def _open(self, *, from_start: bool) -> bool:
        try:
            fh = Path(self.path).open("rb")  # noqa: SIM115 - kept open between reads
        except FileNotFoundError:
            return False
        except PermissionError as exc:
            raise LogError(f"{self.path}: permission denied") from exc
        except IsADirectoryError as exc:
            raise LogError(f"{self.path}: is a directory, not a log file") from exc
        st = os.fstat(fh.fileno())
        self._fh, self._inode, self._carry, self._mark = fh, (st.st_dev, st.st_ino), b"", b""
        self._offset = 0
        self._opened_once = True
        if not from_start and st.st_size > self.tail_bytes:
            fh.seek(st.st_size - self.tail_bytes)
            fh.readline()  # drop the partial first line
            self._offset = fh.tell()
        return True

    def _drain(self) -> bytes:
        assert self._fh is not None
        data = self._fh.read(READ_LIMIT)
        self._offset += len(data)
        self._mark = (self._mark + data)[-_MARK:]
        return data

    def _rewritten(self, size: int) -> bool:
        if size < self._offset:
            return True
        if not self._mark or self._fh is None:
            return False
        return (
            os.pread(self._fh.fileno(), len(self._mark), self._offset - len(self._mark))
            != self._mark
        )

    def read(self) -> Read:
        """Complete lines written since the last read (a partial last line waits)."""
        if self._fh is None and not self._open(from_start=self._opened_once):
            if not self._opened_once:
                raise LogError(f"{self.path}: no such file")
            return Read(b"")  # rotated away and not recreated yet
        try:
            st: os.stat_result | None = Path(self.path).stat()
        except FileNotFoundError:
            st = None  # renamed away, not yet recreated: keep reading the open file
        prefix = self._from_old()
        rotated = truncated = False
        if st is not None and (st.st_dev, st.st_ino) != self._inode:
            prefix += self._carry + self._drain()  # the rotated file's last lines
            cut = prefix.rfind(b"\n")
            self._close_old()
            assert self._fh is not None
            self._old, self._old_carry = self._fh, prefix[cut + 1 :]  # its writer may go on
            prefix = prefix[: cut + 1]
            self._fh = None
            rotated = self._open(from_start=True)
        elif st is not None and self._rewritten(st.st_size):
            assert self._fh is not None
            self._fh.seek(0)
            self._offset, self._carry, self._mark = 0, b"", b""
            truncated = True
        fresh = self._carry + (self._drain() if self._fh is not None else b"")
        if self._old is not None and not rotated and fresh and not prefix:
            self._close_old()  # the writer has moved to the new file: the old one is done
        data = prefix + fresh
        cut = data.rfind(b"\n")
        self._carry = data[cut + 1 :]
        if len(self._carry) > MAX_LINE:  # no newline in megabytes: not a log line, drop it
            self._carry = b""
        return Read(data[: cut + 1], rotated, truncated)


class _Following(Protocol):
    follower: Follower


W = TypeVar("W", bound=_Following)


class Trackers(Generic[W]):
    """A check kind's live watches by key, kept between its runs in one process (opsbook
    serve), so each run reads only what is new; a fresh process starts with none."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[Hashable, W] = {}

    def get(self, key: Hashable, make: Callable[[], W]) -> W:
        with self._lock:
            watch = self._items.get(key)
            if watch is None:
                watch = self._items[key] = make()
            return watch

    def keep(self, keys: Collection[Hashable]) -> None:
        """Close and drop the watches no check has any more (a reload removed or changed
        it): each holds its file open, and a log rotated away stays on disk while it does."""
        with self._lock:
            for key in [k for k in self._items if k not in keys]:
                self._items.pop(key).follower.close()

    def forget(self) -> None:
        with self._lock:
            for watch in self._items.values():
                watch.follower.close()
            self._items.clear()
