"""Running many checks at once: a hung target never holds up the others."""

from __future__ import annotations

import time

from opsbook.status import Status
from tests.support.servers import HttpApp, silent_port

from .helpers import run_all


def test_a_hung_target_does_not_delay_the_others(app: HttpApp) -> None:
    with silent_port() as port:
        start = time.monotonic()
        results = run_all(
            {
                "hung": {"type": "http", "url": f"http://127.0.0.1:{port}/", "timeout": "2s"},
                "fast": {"type": "http", "url": app.url()},
                "disk": {"type": "disk"},
            }
        )
        elapsed = time.monotonic() - start
    by_name = {r.name: r for r in results}
    assert [r.name for r in results] == ["hung", "fast", "disk"]  # config order kept
    assert by_name["hung"].status is Status.CRITICAL
    assert by_name["fast"].status is Status.OK
    assert by_name["fast"].duration < 1.5  # finished long before the hung one gave up
    # Bounded by the slowest timeout, not by the sum (generous: this is not a speed test).
    assert elapsed < 2 + 3


def test_many_checks_run_concurrently(app: HttpApp) -> None:
    specs = {f"slow{i}": {"type": "http", "url": app.url("/slow?s=1")} for i in range(8)}
    start = time.monotonic()
    results = run_all(specs)
    elapsed = time.monotonic() - start
    assert all(r.status is Status.OK for r in results)
    assert elapsed < 8 * 0.5  # sequentially this would take 8 s
