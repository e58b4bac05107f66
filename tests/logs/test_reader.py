"""The chunk reader: a regular file read at offsets gives exactly the lines a stream gives."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from opsbook.logs import reader
from opsbook.logs.parse import count_lines


def _lines(chunks: list[reader.Chunk]) -> list[tuple[int, bytes]]:
    out = []
    for chunk in chunks:
        pieces = chunk.data.split(b"\n")
        assert len(pieces) == chunk.lines  # each chunk counts its own lines right
        out += [(chunk.first_line + i, piece) for i, piece in enumerate(pieces)]
    return out


@pytest.mark.parametrize("seed", range(40))
def test_reading_at_offsets_and_streaming_give_the_same_numbered_lines(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(seed)
    # the window a chunk's last newline is looked for in: the whole chunk, or its tail
    monkeypatch.setattr(reader, "TAIL", rnd.choice([8, 100, 64 << 10]))
    lines = [b"x" * rnd.choice([0, 1, 7, 90, 700, 5000]) for _ in range(rnd.randint(0, 40))]
    text = b"\n".join(lines) + rnd.choice([b"", b"\n", b"\n\n"])
    plain = tmp_path / "access.log"
    plain.write_bytes(text)
    packed = tmp_path / "access.log.1"  # gzip, found by content: read as a stream
    packed.write_bytes(gzip.compress(text))
    size = rnd.choice([16, 256, 1024, 4096])
    count = rnd.choice([reader.count_lines, count_lines])  # by Python or by Polars
    by_offset = _lines(list(reader.iter_chunks(str(plain), size, count)))
    streamed = _lines(list(reader.iter_chunks(str(packed), size, count)))
    assert by_offset == streamed
    assert [n for n, _ in by_offset] == list(range(1, len(by_offset) + 1))


def test_polars_counts_the_lines_of_any_text_as_the_reader_does() -> None:
    rnd = random.Random(7)
    texts = [b"", b"\n", b"a\n\nb", b"a\r\nb\r\n", b"\n\n\n", b"x" * 100_000 + b"\ny"]
    texts += [
        bytes(rnd.choice(b'ab \n\r"\x00\x01\xff') for _ in range(rnd.randint(0, 60)))
        for _ in range(300)
    ]
    for text in texts:
        assert count_lines(text) == reader.count_lines(text), text
