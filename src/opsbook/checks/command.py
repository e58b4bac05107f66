"""command: any Nagios plugin as a check. Runs an argv (never a shell); exit code 0-3 is the
status, the first output line the message, text after ``|`` the perfdata."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess

from opsbook.config.checks import CommandCheck
from opsbook.errors import CheckUnavailable
from opsbook.nagios import parse_perfdata
from opsbook.results import Phase, Reading, Unit
from opsbook.status import Status

MAX_OUTPUT = 64 * 1024  # kept; the rest is read and dropped
REAP_WITHIN = 1.0  # seconds after the timeout by which a killed plugin is gone


def describe(check: CommandCheck) -> str:
    return shlex.join(check.command)


async def run(check: CommandCheck, phase: Phase) -> Reading:
    phase.at(f"for {check.command[0]} to exit")
    loop = asyncio.get_running_loop()
    plugin = _Plugin(MAX_OUTPUT, loop.create_future())
    try:
        transport, _ = await loop.subprocess_exec(
            lambda: plugin,
            *check.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout kills its children too
        )
    except FileNotFoundError:
        raise CheckUnavailable(f"command not found: {check.command[0]}") from None
    except PermissionError:
        raise CheckUnavailable(f"not executable: {check.command[0]}") from None
    except OSError as exc:
        raise CheckUnavailable(f"cannot run {check.command[0]}: {exc.strerror or exc}") from None
    try:
        await asyncio.shield(plugin.finished)
    except asyncio.CancelledError:  # the check's timeout: kill the group, close, reap
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(transport.get_pid(), signal.SIGKILL)
        transport.close()  # our end of the pipe too, in case a grandchild escaped the group
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(plugin.finished), REAP_WITHIN)
        raise
    finally:
        transport.close()
    output = bytes(plugin.kept).decode(errors="replace")
    return reading_from_plugin(transport.get_returncode(), output)


class _Plugin(asyncio.SubprocessProtocol):
    """Keeps the first ``limit`` bytes of output and drains the rest: the pipe never fills,
    so the plugin never blocks on it and is always reaped, however much it prints."""

    def __init__(self, limit: int, finished: asyncio.Future[None]) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.finished = finished

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += data[:room] if isinstance(data, bytes) else data[:room].encode()

    def connection_lost(self, exc: Exception | None) -> None:  # exited and every pipe closed
        if not self.finished.done():
            self.finished.set_result(None)


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
