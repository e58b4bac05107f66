"""command: any Nagios plugin as a check. Runs an argv (never a shell); exit code 0-3 is the
status, the first output line the message, text after ``|`` the perfdata."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal

from opsbook.config.checks import CommandCheck
from opsbook.errors import CheckUnavailable
from opsbook.nagios import parse_perfdata
from opsbook.results import Phase, Reading, Unit
from opsbook.status import Status

MAX_OUTPUT = 64 * 1024


def describe(check: CommandCheck) -> str:
    return shlex.join(check.command)


async def run(check: CommandCheck, phase: Phase) -> Reading:
    phase.at(f"for {check.command[0]} to exit")
    try:
        proc = await asyncio.create_subprocess_exec(
            *check.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout kills its children too
        )
    except FileNotFoundError:
        raise CheckUnavailable(f"command not found: {check.command[0]}") from None
    except PermissionError:
        raise CheckUnavailable(f"not executable: {check.command[0]}") from None
    except OSError as exc:
        raise CheckUnavailable(f"cannot run {check.command[0]}: {exc.strerror or exc}") from None
    try:
        output, _ = await proc.communicate()
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()  # reap it: no zombie, no dangling pipes
        raise
    return reading_from_plugin(proc.returncode, output[:MAX_OUTPUT].decode(errors="replace"))


def reading_from_plugin(code: int | None, output: str) -> Reading:
    lines = output.strip().splitlines()
    first = lines[0] if lines else ""
    text, _, perf = first.partition("|")
    # Long output may carry more perfdata after a second '|' (guidelines, section 2.3).
    for line in lines[1:]:
        if "|" in line:
            perf += " " + line.split("|", 1)[1]
    metrics = parse_perfdata(perf)
    if code is None or code < 0:
        status, text = (
            Status.UNKNOWN,
            f"killed by signal {-(code or 0)}" + (f": {text}" if text else ""),
        )
    elif code > 3:
        status, text = Status.UNKNOWN, f"exit code {code}" + (f": {text.strip()}" if text else "")
    else:
        status = Status(code)
    message = text.strip() or f"exit code {code}, no output"
    value = metrics[0].value if metrics else None
    unit = metrics[0].unit if metrics else Unit.COUNT
    return Reading(status, message, value, unit, tuple(metrics))
