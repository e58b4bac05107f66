"""The runbook's alert tiers fire (and resolve) in a real daemon against real things."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from opsbook.checks.memory import read_meminfo
from tests.support import certs
from tests.support.daemon import Daemon
from tests.support.servers import HttpApp, PostgresServer


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        d.close()


@pytest.fixture
def app() -> Iterator[HttpApp]:
    server = HttpApp().start()
    yield server
    server.stop()


def test_5xx_share_and_p95_latency_from_the_apps_metrics(
    tmp_path: Path, app: HttpApp, daemons: list[Daemon]
) -> None:
    app.metrics.serve(2000)
    d = Daemon(tmp_path, f"""
checks:
  api:
    type: prometheus
    url: {app.url("/metrics")}
    interval: 1s
    window: 10s
    for: 0s
    severity: {{critical: SEV-1, warning: SEV-3}}
    signals:
      errors_5xx: {{kind: error_share, metric: http_requests_total, critical: 5%}}
      latency_p95:
        {{kind: quantile, metric: http_request_duration_seconds, q: 0.95, warning: 2s}}
""")  # fmt: skip
    daemons.append(d)
    d.start()
    d.wait_for(lambda: d.metric("opsbook_check_status", check="api") == 0, "api OK")
    app.metrics.serve(300)
    app.metrics.serve(60, "502")  # 60 of 360 new requests: 17 % 5xx in the window
    [incident] = d.wait_for(d.incidents, "the 5xx incident")
    assert incident.severity == 1
    assert "errors_5xx" in incident.title and "5xx" in incident.title
    app.metrics.serve(3000)  # diluted below 5 % within the window: it resolves

    def resolved() -> bool:
        return any(e.body.startswith("alert api resolved") for e in d.timeline(incident.id))

    d.wait_for(resolved, "the resolution", timeout=30)


def test_p95_over_two_seconds_is_a_warning_tier_incident(
    tmp_path: Path, app: HttpApp, daemons: list[Daemon]
) -> None:
    d = Daemon(tmp_path, f"""
checks:
  api:
    type: prometheus
    url: {app.url("/metrics")}
    interval: 1s
    window: 10s
    for: 0s
    signals:
      latency_p95:
        {{kind: quantile, metric: http_request_duration_seconds, q: 0.95, warning: 2s}}
""")  # fmt: skip
    daemons.append(d)
    app.metrics.serve(100, seconds=0.03)
    d.start()
    d.wait_for(lambda: d.metric("opsbook_check_status", check="api") == 0, "api OK")
    app.metrics.serve(100, seconds=4)
    [incident] = d.wait_for(d.incidents, "the latency incident")
    assert incident.severity == 3  # warning: review within hours
    assert "latency_p95 p95" in incident.title


def test_connection_pool_near_capacity_records_a_postgres_snapshot(
    tmp_path: Path, pg_fresh: PostgresServer, daemons: list[Daemon]
) -> None:
    # 7 connections available to clients; hold 4, one running a long query with a secret
    holders = [psycopg.connect(pg_fresh.dsn(), autocommit=True) for _ in range(4)]

    def sleep_with_a_secret() -> None:
        with contextlib.suppress(psycopg.Error):  # cancelled at the end of the test
            holders[0].execute("SELECT pg_sleep(20), 'hunter2-literal'")

    busy = threading.Thread(target=sleep_with_a_secret, daemon=True)
    busy.start()
    try:
        d = Daemon(tmp_path, f"""
checks:
  db:
    type: postgres
    dsn: {pg_fresh.dsn()}
    interval: 1s
    for: 0s
    warning: 50%
    critical: 95%
""")  # fmt: skip
        daemons.append(d)
        d.start()
        [incident] = d.wait_for(d.incidents, "the pool incident")
        assert incident.severity == 3
        firing = next(e for e in d.timeline(incident.id) if e.kind == "alert")
        assert "PostgreSQL connections:" in firing.body
        assert "pg_sleep" in firing.body
        assert "hunter2-literal" not in firing.body
        snapshot = firing.data["evidence"]["postgres"]
        assert snapshot["connections_by_state"]["active"] >= 1
        assert any("pg_sleep" in q["query"] for q in snapshot["longest_queries"])
        assert firing.data["evidence"]["result"]["status"] == "WARNING"
        assert "pg-super-Secr3t" not in str(firing.data)
    finally:
        holders[0].cancel_safe()
        busy.join(5)
        for conn in holders:
            conn.close()


def test_database_unreachable_is_critical_with_the_snapshot_failure_said(
    tmp_path: Path, pg_fresh: PostgresServer, daemons: list[Daemon]
) -> None:
    d = Daemon(tmp_path, f"""
checks:
  db:
    type: postgres
    dsn: {pg_fresh.dsn()}
    interval: 1s
    severity: SEV-1
""")  # fmt: skip
    daemons.append(d)
    d.start()
    pg_fresh.stop()
    [incident] = d.wait_for(d.incidents, "the DB incident")
    assert incident.severity == 1
    firing = next(e for e in d.timeline(incident.id) if e.kind == "alert")
    assert "PostgreSQL snapshot unavailable" in firing.body
    assert "pg-super-Secr3t" not in firing.body


def test_certificate_under_30_days_and_memory_over_threshold(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    cert = certs.write(tmp_path / "cert.pem", certs.issue("example.com", days=20))
    info = read_meminfo()
    used = (info["MemTotal"] - info["MemAvailable"]) * 100 / info["MemTotal"]
    d = Daemon(tmp_path, f"""
checks:
  cert:
    type: tls
    file: {cert}
    interval: 1s
    for: 0s
    severity: {{critical: SEV-1, warning: SEV-2}}
  memory:
    type: memory
    interval: 1s
    for: 0s
    warning: {max(used - 5, 0):.1f}%
    critical: 100%
""")  # fmt: skip
    daemons.append(d)
    d.start()
    found = d.wait_for(lambda: len(d.incidents()) == 2 and d.incidents(), "two incidents")
    by_check = {i.title.split(":")[0]: i for i in found}
    assert by_check["cert"].severity == 2  # under 30 days: the runbook's critical tier
    assert "expires" in by_check["cert"].title
    assert by_check["memory"].severity == 3
