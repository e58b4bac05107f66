"""prometheus: the runbook's 5xx share, P95 and traffic from an app's real /metrics."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import pytest

from opsbook import aio
from opsbook.checks import bands, prometheus
from opsbook.checks.prometheus import Scrape, assess
from opsbook.checks.runner import run_check
from opsbook.config.prometheus_checks import PrometheusCheck
from opsbook.secrets import Redactor
from opsbook.status import Status
from tests.support.servers import HttpApp

from .helpers import config_of, run


@pytest.fixture
def app() -> Iterator[HttpApp]:
    server = HttpApp().start()  # its own counters, not the session app's
    yield server
    server.stop()
    prometheus._HISTORY.clear()
    bands.forget()


def spec(app: HttpApp, **signals: dict[str, object]) -> dict[str, object]:
    return {"type": "prometheus", "url": app.url("/metrics"), "signals": signals}


ERRORS = {"kind": "error_share", "metric": "http_requests_total", "warning": "1%", "critical": "5%"}
P95 = {"kind": "quantile", "metric": "http_request_duration_seconds", "q": 0.95,
       "warning": "1s", "critical": "2s"}  # fmt: skip


def test_error_share_of_5xx_goes_warning_then_critical(app: HttpApp) -> None:
    app.metrics.serve(1000)
    app.metrics.serve(20, "503")
    warn = run(spec(app, errors=ERRORS))
    assert warn.status is Status.WARNING
    assert "errors 1.96% of 1020 requests 5xx" in warn.message
    assert "cumulative" in warn.message
    app.metrics.serve(60, "500")
    prometheus._HISTORY.clear()  # as a new `opsbook check` process: no earlier scrape
    crit = run(spec(app, errors=ERRORS))
    assert crit.status is Status.CRITICAL
    assert crit.value == pytest.approx(80 * 100 / 1080, abs=0.01)


def test_p95_latency_from_histogram_buckets(app: HttpApp) -> None:
    app.metrics.serve(90, seconds=0.03)
    app.metrics.serve(10, seconds=1.5)
    result = run(spec(app, p95=P95))
    assert result.status is Status.WARNING  # p95 lies in the (1, 2] bucket
    assert result.value is not None and 1 < result.value <= 2
    assert "p95 p95" not in result.message  # the name already says which quantile
    prometheus._HISTORY.clear()
    named = run(spec(app, latency=P95))
    assert named.message.startswith("latency p95 ")
    app.metrics.serve(100, seconds=4)
    prometheus._HISTORY.clear()
    assert run(spec(app, p95=P95)).status is Status.CRITICAL


def test_windowed_values_use_the_increase_between_scrapes(app: HttpApp) -> None:
    config = config_of({"api": spec(app, errors=ERRORS)})
    check = config.checks["api"]
    assert isinstance(check, PrometheusCheck)

    def once() -> object:
        return aio.run(run_check("api", check, Redactor()))

    app.metrics.serve(100, "500")  # a bad past...
    once()
    _age_history(300)
    app.metrics.serve(1000)  # ...and a clean present: the window sees only the present
    result = once()
    assert result.status is Status.OK  # type: ignore[attr-defined]
    assert "0.00% of 1000 requests" in result.message  # type: ignore[attr-defined]


def _age_history(seconds: float) -> None:
    """As if every kept scrape had been taken ``seconds`` earlier."""
    for key, scrapes in prometheus._HISTORY.items():
        prometheus._HISTORY[key] = deque(Scrape(s.at - seconds, s.series) for s in scrapes)


def test_gauge_and_missing_series(app: HttpApp) -> None:
    app.metrics.pool.set(19)
    pool = {"kind": "gauge", "metric": "db_pool_in_use", "warning": 16, "critical": 19}
    assert run(spec(app, pool=pool)).status is Status.WARNING  # over 19 is critical, as Nagios
    app.metrics.pool.set(20)
    assert run(spec(app, pool=pool)).status is Status.CRITICAL
    missing = run(spec(app, x={"kind": "gauge", "metric": "no_such_metric"}))
    assert missing.status is Status.UNKNOWN
    assert "no series no_such_metric" in missing.message


def test_rates_and_unusual_traffic_from_successive_scrapes() -> None:
    check = config_of({"api": {"type": "prometheus", "url": "http://x/metrics", "window": "1m",
                               "signals": {
        "traffic": {"kind": "unusual_rate", "metric": "http_requests_total", "k": 4,
                    "min_history": "10m"},
        "rps": {"kind": "rate", "metric": "http_requests_total", "warning": 1000},
    }}}).checks["api"]  # fmt: skip
    assert isinstance(check, PrometheusCheck)
    key = ("http_requests_total", (("status", "200"),))
    total, at, prev = 0.0, 0.0, None
    results = []
    for minute in range(40):  # ~10 req/s with a little noise, then a surge
        total += (600 + (minute % 3) * 12) if minute < 35 else 6000
        at += 60
        now = Scrape(at, {key: total})
        results.append(assess(check, now, prev))
        prev = now
    assert "learning" in results[5].message
    assert all(r.status is Status.OK for r in results[12:35])
    assert results[36].status is Status.WARNING
    assert "above the usual" in results[36].message
    assert results[36].metrics[1].value == 100.0  # rps
