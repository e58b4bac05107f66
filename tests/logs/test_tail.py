"""opsbook logs tail: a live line per interval, from the end of the file, across rotation."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path


def lines(n: int, status: int) -> str:
    stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'10.0.0.1 - - [{stamp}] "GET / HTTP/1.1" {status} 1 "-" "x" 0.100 0.100\n' * n


def test_tail_prints_a_line_per_interval_for_new_requests_only(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(lines(500, 500))  # history: not shown, tail starts at the end
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsbook", "logs", "tail", str(log), "--every", "1s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert proc.stderr is not None and proc.stdout is not None
        assert "following" in proc.stderr.readline()
        first = proc.stdout.readline()
        assert "(0 requests)" in first
        with log.open("a") as f:
            f.write(lines(9, 200) + lines(1, 503))
        seen = [proc.stdout.readline() for _ in range(2)]
        busy = next(s for s in seen if "(10 requests)" in s)
        assert "5xx  10.0 %" in busy and "p95 100 ms" in busy
        log.rename(tmp_path / "access.log.1")
        log.write_text(lines(4, 200))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "(4 requests)" in proc.stdout.readline():
                break
        else:
            raise AssertionError("the rotated file's lines never showed")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
