"""Running a job's process: its own process group (a timeout kills the whole tree, a shell's
children too), output read as it comes (shown live by `opsbook jobs run`, its tail kept), and
the exit code read as a Nagios plugin's.

Built-in actions run this way too, as opsbook's own command in a child process: a hung apt
or a slow restore is killed on time like any program, and the daemon's memory never holds a
scan's findings for longer than it takes to store them.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbook.status import Status
from opsbook.units import format_duration

TAIL_LINES = 200  # the output kept with a run
TAIL_BYTES = 64 * 1024
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
OnLine = Callable[[str, str], None]  # (stream, line)


@dataclass(frozen=True)
class Outcome:
    status: Status
    summary: str
    output: str  # the tail of stdout and stderr, interleaved as read
    data: dict[str, Any] | None = None  # a built-in action's JSON document
    exit_code: int | None = None
    timed_out: bool = False
    seconds: float = 0.0


def status_of(code: int) -> Status:
    return {0: Status.OK, 1: Status.WARNING, 2: Status.CRITICAL}.get(code, Status.UNKNOWN)


def execute(
    argv: list[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    on_line: OnLine | None = None,
    json_stdout: bool = False,
    stop: threading.Event | None = None,
) -> Outcome:
    """Run ``argv`` to its end, its timeout, or ``stop``; never raises for what the program
    does (a missing program is a CRITICAL outcome, said plainly)."""
    started = time.monotonic()
    program = argv[0]
    found = (os.access(Path(cwd or ".") / program, os.X_OK) if "/" in program
             else shutil.which(program, path=(env or {}).get("PATH")) is not None)  # fmt: skip
    if not found:
        return Outcome(Status.CRITICAL, f"could not start {program}: no such program", "")
    setpriv = shutil.which("setpriv")
    if setpriv is not None:  # the job dies with whoever runs it (a kill -9 of opsbook serve)
        argv = [setpriv, "--pdeathsig", "KILL", "--", *argv]
    try:
        # argv from opsbook.yaml; no shell unless the job asks for one
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    except OSError as exc:
        what = exc.strerror or str(exc)
        return Outcome(Status.CRITICAL, f"could not start {argv[0]}: {what}", "", seconds=0.0)
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    stdout_all: list[str] = []  # a built-in's JSON document, kept whole
    readers = [
        threading.Thread(
            target=_pump,
            args=(proc.stdout, "stdout", tail, on_line, stdout_all if json_stdout else None),
            daemon=True,
        ),
        threading.Thread(
            target=_pump, args=(proc.stderr, "stderr", tail, on_line, None), daemon=True
        ),
    ]
    for reader in readers:
        reader.start()
    deadline = started + timeout
    timed_out = interrupted = False
    try:
        while proc.poll() is None:
            if time.monotonic() >= deadline:
                timed_out = True
                break
            if stop is not None and stop.is_set():
                interrupted = True
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
    except BaseException:  # Ctrl-C on `jobs run`: its own session never saw the signal
        _kill_group(proc)
        raise
    if timed_out or interrupted:
        _kill_group(proc)
    for reader in readers:
        reader.join(timeout=5)
    seconds = time.monotonic() - started
    output = _tail_text(tail)
    if timed_out:
        summary = f"timed out after {format_duration(timeout)}; killed"
        return Outcome(Status.CRITICAL, summary, output, timed_out=True, seconds=seconds)
    if interrupted:
        summary = "interrupted: opsbook stopped while it ran; killed"
        return Outcome(Status.UNKNOWN, summary, output, seconds=seconds)
    code = proc.returncode
    data = _document("".join(stdout_all)) if json_stdout else None
    status = status_of(code) if code >= 0 else Status.CRITICAL
    summary = _summary(data, tail, code)
    return Outcome(status, summary, output, data, exit_code=code, seconds=seconds)


def _pump(
    stream: Any,
    name: str,
    tail: collections.deque[str],
    on_line: OnLine | None,
    keep: list[str] | None,
) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        if keep is not None:
            keep.append(line)
            if name == "stdout":
                continue  # the JSON document is the data, not output to show
        text = line.rstrip("\n")
        tail.append(text if name == "stdout" else f"[stderr] {text}")
        if on_line is not None:
            on_line(name, text)
    stream.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        return


def _tail_text(tail: collections.deque[str]) -> str:
    text = "\n".join(tail)
    return text[-TAIL_BYTES:]


def _document(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _summary(data: dict[str, Any] | None, tail: collections.deque[str], code: int) -> str:
    if data is not None and isinstance(data.get("summary"), str):
        return str(data["summary"])
    first = next((line for line in tail if line.strip() and not line.startswith("[stderr]")), None)
    if first is not None:  # a Nagios plugin's first line is its status text
        return first.split("|", 1)[0].strip()
    err = next((line for line in reversed(tail) if line.strip()), "")
    if code < 0:
        return f"killed by signal {-code}" + (f": {err}" if err else "")
    return err.removeprefix("[stderr] ").strip() or f"exit {code}, no output"
