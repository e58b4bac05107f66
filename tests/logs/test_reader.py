"""The chunk reader: a regular file read at offsets gives exactly the lines a stream gives."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from opsbook.logs import reader


def _lines(chunks: list[reader.Chunk]) -> list[tuple[int, bytes]]:
    out = []
    for chunk in chunks:
        pieces = chunk.data.split(b"\n")
        assert len(pieces) == chunk.lines  # each chunk counts its own lines right
        out += [(chunk.first_line + i, piece) for i, piece in enumerate(pieces)]
    return out


@pytest.mark.parametrize("seed", range(40))
def test_reading_at_offsets_and_streaming_give_the_same_numbered_lines(
    tmp_path: Path, seed: int
) -> None:
    rnd = random.Random(seed)
    lines = [b"x" * rnd.choice([0, 1, 7, 90, 700, 5000]) for _ in range(rnd.randint(0, 40))]
    text = b"\n".join(lines) + rnd.choice([b"", b"\n", b"\n\n"])
    plain = tmp_path / "access.log"
    plain.write_bytes(text)
    packed = tmp_path / "access.log.1"  # gzip, found by content: read as a stream
    packed.write_bytes(gzip.compress(text))
    size = rnd.choice([16, 256, 1024, 4096])
    by_offset = _lines(list(reader.iter_chunks(str(plain), size)))
    streamed = _lines(list(reader.iter_chunks(str(packed), size)))
    assert by_offset == streamed
    assert [n for n, _ in by_offset] == list(range(1, len(by_offset) + 1))
