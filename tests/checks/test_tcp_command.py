"""tcp and command (Nagios plugins) checks."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from opsbook.results import Range
from opsbook.status import Status
from tests.support.servers import HttpApp, closed_port

from .helpers import run


def test_tcp_open_port_is_ok_and_refused_is_critical(app: HttpApp) -> None:
    ok = run({"type": "tcp", "host": f"127.0.0.1:{app.port}"})
    assert ok.status is Status.OK
    assert "accepted in" in ok.message
    refused = run({"type": "tcp", "host": f"127.0.0.1:{closed_port()}"})
    assert refused.status is Status.CRITICAL
    assert refused.message.startswith("connection refused")


def test_tcp_connect_time_threshold(app: HttpApp) -> None:
    result = run({"type": "tcp", "host": f"127.0.0.1:{app.port}", "warning": "0ms"})
    assert result.status is Status.WARNING


def plugin(tmp_path: Path, code: int, output: str) -> list[str]:
    script = tmp_path / f"plugin{code}.py"
    script.write_text(f"import sys\nprint({output!r})\nsys.exit({code})\n")
    return [sys.executable, str(script)]


def test_plugin_exit_codes_map_to_statuses(tmp_path: Path) -> None:
    for code, status in enumerate([Status.OK, Status.WARNING, Status.CRITICAL, Status.UNKNOWN]):
        result = run({"type": "command", "command": plugin(tmp_path, code, f"STATE {code}")})
        assert result.status is status
        assert result.message == f"STATE {code}"


def test_plugin_perfdata_becomes_metrics(tmp_path: Path) -> None:
    argv = plugin(tmp_path, 1, "NTP WARNING: offset 0.8 s | offset=0.8s;0.5;1;0 'peer count'=3;;")
    result = run({"type": "command", "command": argv})
    assert result.status is Status.WARNING
    assert result.message == "NTP WARNING: offset 0.8 s"
    assert result.value == 0.8
    assert result.unit.value == "s"
    offset, peers = result.metrics
    assert (offset.warning, offset.critical, offset.min) == (Range(0, 0.5), Range(0, 1.0), 0.0)
    assert peers.name == "peer count"
    assert peers.value == 3


def test_odd_exit_codes_and_missing_commands_are_unknown(tmp_path: Path) -> None:
    odd = run({"type": "command", "command": plugin(tmp_path, 7, "weird")})
    assert odd.status is Status.UNKNOWN
    assert odd.message == "exit code 7: weird"
    missing = run({"type": "command", "command": ["/no/such/plugin", "-H", "x"]})
    assert missing.status is Status.UNKNOWN
    assert missing.message == "command not found: /no/such/plugin"


def test_a_hung_plugin_is_killed_at_the_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = tmp_path / "hang.py"
    script.write_text(
        f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n"
    )
    result = run({"type": "command", "command": [sys.executable, str(script)], "timeout": "1s"})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("timed out after 1 s")
    pid = int(pidfile.read_text())
    for _ in range(50):  # the kill is asynchronous; give the kernel a moment to reap it
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"plugin {pid} still running after the timeout")


def test_a_plugin_that_floods_its_output_is_killed_and_reaped_at_the_timeout() -> None:
    """`yes` writes gigabytes: the output is capped and drained, the group killed, the
    process reaped, and the check reports instead of running for minutes."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    result = run({"type": "command", "command": ["yes", "flood"], "timeout": "1s"})
    took = time.monotonic() - start
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert result.status is Status.CRITICAL
    assert result.message.startswith("timed out after 1 s")
    assert took < 10  # generous: before the fix it ran for minutes
    assert grown_kib < 200 * 1024  # and grew to 2 GB


def test_a_plugin_that_prints_megabytes_and_exits_is_read_up_to_the_cap(tmp_path: Path) -> None:
    script = tmp_path / "loud.py"
    script.write_text(
        "import sys\nprint('OK - fine | t=1s')\n"
        "sys.stdout.write('x' * (8 << 20))\nsys.stdout.flush()\n"
    )
    result = run({"type": "command", "command": [sys.executable, str(script)], "timeout": "20s"})
    assert result.status is Status.OK
    assert result.message == "OK - fine"
    assert result.value == 1.0
