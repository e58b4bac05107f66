"""The data path: source stream → zstd → age → SHA-256 → repository, and back.

Everything streams in small chunks, so memory stays flat whatever the size: zstd's reader
pulls from the source, age (pyrage) pulls from zstd and pushes 64 KiB blocks into the
hashing writer, which pushes into every repository's upload at once (local and off-site
are written in one pass, not one after the other).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from opsbook.backups.crypto import Opener, Sealer
from opsbook.errors import BackupError, DecryptError, IntegrityError
from opsbook.progress import Progress

CHUNK = 1 << 20


class Upload(Protocol):
    def write(self, data: bytes) -> int: ...


class CountingReader:
    """Wraps the source: counts raw bytes and reports progress."""

    def __init__(self, raw: BinaryIO, progress: Progress | None = None) -> None:
        self.raw = raw
        self.count = 0
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size and size > 0 else CHUNK)
        self.count += len(data)
        if self.progress is not None and data:
            self.progress(self.count)
        return data

    def readable(self) -> bool:
        return True


class Tee:
    """The sealed stream: hashed, counted, written to every upload."""

    def __init__(self, uploads: Sequence[Upload]) -> None:
        self.uploads = uploads
        self.sha = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes | memoryview) -> int:
        block = bytes(data)
        self.sha.update(block)
        self.count += len(block)
        for upload in self.uploads:
            upload.write(block)
        return len(block)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass


@dataclass(frozen=True)
class Stored:
    raw_bytes: int
    stored_bytes: int
    sha256: str


def store(
    source: BinaryIO,
    uploads: Sequence[Upload],
    sealer: Sealer,
    *,
    level: int,
    progress: Progress | None = None,
) -> Stored:
    import zstandard

    counter = CountingReader(source, progress)
    tee = Tee(uploads)
    compressor = zstandard.ZstdCompressor(level=level)
    reader: Any = counter  # a file-like object, which is all zstd needs
    with compressor.stream_reader(reader, read_size=CHUNK, closefd=False) as compressed:
        sealer.seal(compressed, tee)
    return Stored(counter.count, tee.count, tee.sha.hexdigest())


class HashingReader:
    """Wraps stored bytes as they are fetched: the checksum is known when the read ends."""

    def __init__(self, raw: Any, progress: Progress | None = None) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.count = 0
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.raw.read(size if size and size > 0 else CHUNK)
        self.sha.update(data)
        self.count += len(data)
        if self.progress is not None and data:
            self.progress(self.count)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class _Decompressing:
    """Writer side of decryption: zstd-decompress into the final sink."""

    def __init__(self, sink: Any) -> None:
        import zstandard

        self.sink = sink
        self.raw = 0
        target: Any = _Counting(self)
        self._writer = zstandard.ZstdDecompressor().stream_writer(
            target, write_size=CHUNK, closefd=False
        )

    def write(self, data: bytes | memoryview) -> int:
        self._writer.write(bytes(data))
        return len(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._writer.flush()  # type: ignore[no-untyped-call]


class _Counting:
    def __init__(self, owner: _Decompressing) -> None:
        self.owner = owner

    def write(self, data: bytes | memoryview) -> int:
        self.owner.raw += len(data)
        self.owner.sink.write(bytes(data))
        return len(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass


def fetch(
    stored: Any,
    sink: Any,
    opener: Opener,
    *,
    expected_sha256: str,
    what: str,
    progress: Progress | None = None,
) -> int:
    """Decrypt and decompress ``stored`` into ``sink``; returns the raw bytes written.

    The checksum is compared at the end, and also when decryption or decompression fails
    part-way: a flipped byte is then reported as corruption, not as a wrong key.
    """
    import zstandard

    reader = HashingReader(stored, progress)
    out = _Decompressing(sink)
    try:
        opener.open(reader, out)  # type: ignore[arg-type]
        out.flush()
    # pyrage reports a bad chunk in a stream as OSError("decryption error")
    except (DecryptError, zstandard.ZstdError, OSError) as exc:
        started = reader.count
        reader.drain()
        if reader.sha.hexdigest() != expected_sha256:
            raise IntegrityError(
                f"{what}: stored data does not match its checksum (sha256 {expected_sha256[:16]}… "
                f"expected, {reader.sha.hexdigest()[:16]}… found); it is corrupt "
                f"(failed to read after byte {started})"
            ) from None
        if isinstance(exc, DecryptError):
            raise DecryptError(f"{what}: cannot decrypt: {exc}") from None
        if isinstance(exc, zstandard.ZstdError):
            raise BackupError(f"{what}: cannot decompress: {exc}") from None
        raise BackupError(f"{what}: {exc.strerror or exc}") from None
    reader.drain()  # age's final chunk is authenticated; anything after it still counts
    if reader.sha.hexdigest() != expected_sha256:
        raise IntegrityError(
            f"{what}: stored data does not match its checksum (sha256 {expected_sha256[:16]}… "
            f"expected, {reader.sha.hexdigest()[:16]}… found)"
        )
    return out.raw
