"""opsbook serve with log checks: a 5xx burst in the access log opens an incident, a new error
template becomes an informational (SEV-4) alert, across a logrotate under the running daemon."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.daemon import Daemon


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    access.write_text("")
    errors.write_text("")
    d = Daemon(
        tmp_path,
        f"""
        checks:
          api-log:
            type: log
            path: {access}
            window: 1m
            interval: 1s
            for: 0s
            min_requests: 10
          new-errors:
            type: log_errors
            path: {errors}
            window: 1m
            interval: 1s
        """,
    )
    yield d
    d.close()


def access_lines(n: int, status: int) -> str:
    stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    line = f'10.0.0.1 - - [{stamp}] "GET /api/orders/7 HTTP/1.1" {status} 10 "-" "x" 0.020 0.020\n'
    return line * n


def append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def test_a_5xx_burst_opens_an_incident_and_a_new_error_pattern_is_recorded(
    daemon: Daemon, tmp_path: Path
) -> None:
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    daemon.start()
    append(access, access_lines(40, 200))
    daemon.wait_for(
        lambda: daemon.metric("opsbook_check_status", check="api-log") == 0, "api-log OK"
    )
    # logrotate moves the file away; nginx reopens a new one and the 5xx start there.
    access.rename(tmp_path / "access.log.1")
    access.write_text(access_lines(10, 502))
    [incident] = daemon.wait_for(daemon.incidents, "an incident")
    assert incident.severity == 2
    assert incident.title.startswith("api-log: 50 requests in 60 s")
    assert "5xx 20.0 % (CRITICAL)" in incident.title
    # what the window measured is on /metrics, for an app that has none of its own
    assert daemon.metric("opsbook_check_value_ratio", check="api-log") == pytest.approx(0.2)
    assert daemon.metric("opsbook_check_metric_seconds", check="api-log", measurement="p95") == 0.02
    assert daemon.metric("opsbook_check_metric", check="api-log", measurement="requests") == 50
    stamp = datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S")
    append(
        errors, f'{stamp} [crit] 7#7: *3 open() "/data/x" failed (28: No space left on device)\n'
    )
    daemon.wait_for(
        lambda: daemon.metric("opsbook_alerts_firing", severity="SEV-4") == 1, "a SEV-4 alert"
    )
    assert daemon.metric("opsbook_check_status", check="new-errors") == 1
    assert daemon.stop() == 0
