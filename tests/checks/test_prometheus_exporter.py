"""The prometheus check on a real exporter (Debian's prometheus-redis-exporter)."""

from __future__ import annotations

import subprocess
from collections import deque
from collections.abc import Iterator

import pytest

from opsbook import aio
from opsbook.checks import bands, prometheus
from opsbook.checks.prometheus import Scrape
from opsbook.checks.runner import run_check
from opsbook.config.prometheus_checks import PrometheusCheck
from opsbook.results import Result
from opsbook.secrets import Redactor
from opsbook.status import Status
from tests.support.servers import RedisExporter, RedisServer, closed_port

from .helpers import config_of


@pytest.fixture
def exporter(redis: RedisServer) -> Iterator[RedisExporter]:
    server = RedisExporter(redis.port).start()
    yield server
    server.stop()
    prometheus._HISTORY.clear()
    bands.forget()


def checks(url: str, **windows: str) -> dict[str, PrometheusCheck]:
    signals = {"commands": {"kind": "rate", "metric": "redis_commands_processed_total"}}
    specs = {name: {"type": "prometheus", "url": url, "window": window, "signals": signals}
             for name, window in windows.items()}  # fmt: skip
    found = config_of(specs).checks
    return {name: c for name, c in found.items() if isinstance(c, PrometheusCheck)}


def scrape(name: str, check: PrometheusCheck) -> Result:
    return aio.run(run_check(name, check, Redactor()))


def age(seconds: float) -> None:
    """As if every kept scrape had been taken ``seconds`` earlier (a fake clock, not a sleep)."""
    for key, scrapes in prometheus._HISTORY.items():
        prometheus._HISTORY[key] = deque(Scrape(s.at - seconds, s.series) for s in scrapes)


def commands(redis: RedisServer, n: int) -> None:
    subprocess.run(["redis-cli", "-p", str(redis.port)], input="PING\n" * n, text=True,
                   capture_output=True, check=True)  # fmt: skip


def test_two_windows_on_one_exporter_keep_their_own_history(
    exporter: RedisExporter, redis: RedisServer
) -> None:
    both = checks(exporter.url(), slow="1m", fast="20s")
    for name, check in both.items():
        scrape(name, check)  # t=0
    commands(redis, 700)
    age(30)
    for name, check in both.items():
        scrape(name, check)  # t=30: the 700 are behind both
    age(40)
    slow, fast = (scrape(name, check) for name, check in both.items())  # t=70
    # slow: from t=0 (the newest scrape a minute old); fast: from t=30, nothing since
    assert slow.value is not None and fast.value is not None
    assert 700 / 70 <= slow.value < 760 / 70, slow.message
    assert fast.value < 2, fast.message  # only the exporter's own INFO calls
    assert slow.message.endswith("(over 70 s)") and fast.message.endswith("(over 40 s)")


def test_an_increase_over_too_short_a_span_is_learning(exporter: RedisExporter) -> None:
    ((name, check),) = checks(exporter.url(), api="1m").items()
    first = scrape(name, check)
    assert "commands needs two scrapes" in first.message
    second = scrape(name, check)  # milliseconds later, as right after a restart
    assert second.status is Status.OK and second.value is None and not second.metrics
    assert "commands learning:" in second.message and second.message.endswith("judged from 15 s")


def test_a_gauge_can_alert_below_its_threshold(redis: RedisServer) -> None:
    up = {"kind": "gauge", "metric": "redis_up", "critical": {"below": 1}}
    for port, status in ((redis.port, Status.OK), (closed_port(), Status.CRITICAL)):
        exporter = RedisExporter(port).start()
        try:
            config = config_of({"up": {"type": "prometheus", "url": exporter.url(),
                                       "signals": {"up": up}}})  # fmt: skip
            result = scrape("up", config.checks["up"])  # type: ignore[arg-type]
        finally:
            exporter.stop()
        assert result.status is status, result.message
        assert result.metrics[0].critical is not None
        assert result.metrics[0].critical.text() == "1:"
