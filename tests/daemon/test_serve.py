"""A real `opsbook serve` against real servers: alerts become incidents, once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import Daemon
from tests.support.servers import RedisServer, closed_port, silent_port


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        d.close()


def redis_config(redis: RedisServer, extra: str = "") -> str:
    return f"""
checks:
  cache:
    type: redis
    url: {redis.url()}
    interval: 1s
    for: 0s
    severity: SEV-1
{extra}
"""


def test_a_stopped_redis_opens_one_incident_and_recovery_goes_on_its_timeline(
    tmp_path: Path, redis_fresh: RedisServer, daemons: list[Daemon]
) -> None:
    d = Daemon(tmp_path, redis_config(redis_fresh))
    daemons.append(d)
    d.start()
    d.wait_for(lambda: d.metric("opsbook_check_status", check="cache") == 0, "cache OK")
    redis_fresh.stop()
    [incident] = d.wait_for(d.incidents, "an incident")
    assert incident.severity == 1
    # refused, or reset if the watch connection caught Redis in the act of dying
    assert incident.title.startswith(("cache: connection refused", "cache: connection to the"))
    assert incident.opened_by == "opsbook"
    d.wait_runs("cache", 3, "CRITICAL")  # three more failing evaluations: still one incident
    assert len(d.incidents()) == 1
    assert d.metric("opsbook_incidents_open", severity="SEV-1") == 1
    assert d.metric("opsbook_alerts_firing", severity="SEV-1") == 1
    redis_fresh.start()
    d.wait_for(lambda: any("resolved" in e.body for e in d.timeline(incident.id)), "the resolution")
    assert d.incidents()[0].phase == "triage"  # no auto_resolve: it waits for a human
    bodies = [e.body for e in d.timeline(incident.id)]
    assert bodies[0].startswith("SEV-1 opened: cache: connection")
    assert bodies[1].startswith("alert cache firing (CRITICAL): connection")
    assert bodies[-1] == "alert cache resolved: check is OK again"
    assert d.stop() == 0


def test_auto_resolve_closes_the_incident_after_recovery(
    tmp_path: Path, redis_fresh: RedisServer, daemons: list[Daemon]
) -> None:
    d = Daemon(tmp_path, redis_config(redis_fresh, "    auto_resolve: 2s\n").replace(
        "    severity: SEV-1\n\n    auto_resolve", "    severity: SEV-1\n    auto_resolve"
    ))  # fmt: skip
    daemons.append(d)
    d.start()
    redis_fresh.stop()
    [incident] = d.wait_for(d.incidents, "an incident")
    redis_fresh.start()
    d.wait_for(lambda: d.incidents()[0].phase == "resolved", "auto-resolution")
    last = d.timeline(incident.id)
    resolved = next(e for e in last if e.kind == "resolved")
    assert resolved.actor == "opsbook"
    assert "auto-resolved: cache has been OK for 2 s" in resolved.body
    d.wait_for(lambda: d.metric("opsbook_incidents_open", severity="SEV-1") == 0, "metrics")


def test_kill_9_and_restart_keep_the_firing_alert_and_its_incident(
    tmp_path: Path, redis_fresh: RedisServer, daemons: list[Daemon]
) -> None:
    d = Daemon(tmp_path, redis_config(redis_fresh))
    daemons.append(d)
    d.start()
    redis_fresh.stop()
    [incident] = d.wait_for(d.incidents, "an incident")
    d.kill9()
    d.start()
    assert "1 alerts firing from before" in d.logs()
    d.wait_runs("cache", 3, "CRITICAL")  # evaluated again after the restart
    assert [i.id for i in d.incidents()] == [incident.id]  # no duplicate after the restart
    assert d.alert("check:cache").state == "firing"
    redis_fresh.start()
    d.wait_for(lambda: d.alert("check:cache").state == "inactive", "the alert to resolve")
    assert any(e.body.startswith("alert cache resolved") for e in d.timeline(incident.id))
    assert len(d.incidents()) == 1


def test_a_pending_timer_survives_a_restart(
    tmp_path: Path, redis_fresh: RedisServer, daemons: list[Daemon]
) -> None:
    d = Daemon(tmp_path, redis_config(redis_fresh).replace("for: 0s", "for: 4s"))
    daemons.append(d)
    d.start()
    redis_fresh.stop()
    d.wait_for(lambda: d.alert("check:cache") is not None and
               d.alert("check:cache").state == "pending", "pending")  # fmt: skip
    pending_since = d.alert("check:cache").pending_since
    d.kill9()
    d.start()
    [incident] = d.wait_for(d.incidents, "the incident", timeout=15)
    fired = d.alert("check:cache")
    assert fired.incident_id == incident.id
    assert fired.pending_since == pending_since  # the timer went on, not restarted
    assert (fired.firing_since - pending_since).total_seconds() < 8


def test_sigterm_stops_cleanly_and_quickly(
    tmp_path: Path, redis_fresh: RedisServer, daemons: list[Daemon]
) -> None:
    with silent_port() as port:
        d = Daemon(tmp_path, redis_config(redis_fresh, f"""
  hung:
    type: http
    url: http://127.0.0.1:{port}/
    interval: 1s
    timeout: 30s
"""))  # fmt: skip
        daemons.append(d)
        d.start()
        # Two runs of cache (1 s apart) mean the hung check's first run (spread over its
        # 1 s interval) has started and is in flight.
        d.wait_runs("cache", 2)
        start = time.monotonic()
        assert d.stop(signal.SIGTERM) == 0
        assert time.monotonic() - start < 10
    assert "opsbook serve: stopped" in d.logs()


def test_a_hung_target_never_delays_the_others(
    tmp_path: Path, redis: RedisServer, daemons: list[Daemon]
) -> None:
    with silent_port() as port:
        d = Daemon(tmp_path, redis_config(redis, f"""
  hung:
    type: http
    url: http://127.0.0.1:{port}/
    interval: 1s
    timeout: 20s
"""))  # fmt: skip
        daemons.append(d)
        d.start()
        d.wait_runs("cache", 3, "OK")
        hung_runs = d.runs("hung")  # the hung check has not come back once meanwhile
        health = d.health()
    assert hung_runs == 0
    assert health is not None and health["status"] == "ok"


def test_a_refused_app_fires_at_once_and_unknown_never_resolves(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    port = closed_port()
    d = Daemon(tmp_path, f"""
checks:
  app:
    type: http
    url: http://127.0.0.1:{port}/health
    interval: 1s
    severity: SEV-1
  plugin:
    type: command
    command: [/no/such/plugin]
    interval: 1s
    for: 0s
""")  # fmt: skip
    daemons.append(d)
    d.start()
    found = d.wait_for(lambda: len(d.incidents()) == 2 and d.incidents(), "two incidents")
    by_title = {i.title.split(":")[0]: i for i in found}
    assert by_title["app"].severity == 1  # http: connectivity, for 0s by default
    assert by_title["plugin"].severity == 3  # UNKNOWN alerts at the warning severity
    d.wait_runs("plugin", 2, "UNKNOWN")
    assert d.alert("check:plugin").state == "firing"


def test_serve_with_no_configuration_watches_the_embedded_defaults(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.support.servers import free_port, wait_for_port

    port = free_port()
    env = {**os.environ, "HOME": str(tmp_path)}
    for var in ("OPSBOOK_CONFIG", "OPSBOOK_STORE", "XDG_DATA_HOME", "DATABASE_URL",
                "REDIS_URL", "OPSBOOK_HEALTH_URL"):  # fmt: skip
        env.pop(var, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsbook", "serve", "--listen", f"127.0.0.1:{port}"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for_port(port)
        d = Daemon.__new__(Daemon)
        d.port = port
        d.proc = proc
        for name in ("disk", "memory", "load"):  # first runs are spread over 10 s
            d.wait_for(lambda n=name: d.metric("opsbook_check_status", check=n) is not None, name)
        assert (tmp_path / ".local/share/opsbook/opsbook.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "embedded defaults" in err


def test_a_dead_server_is_noticed_at_once_not_at_the_next_interval(
    tmp_path: Path, redis_fresh: RedisServer, daemons: list[Daemon]
) -> None:
    d = Daemon(tmp_path, redis_config(redis_fresh).replace("interval: 1s", "interval: 60s"))
    daemons.append(d)
    d.start()
    d.wait_for(lambda: d.metric("opsbook_check_status", check="cache") == 0, "the first run",
               timeout=15)  # fmt: skip
    d.wait_for(lambda: _clients(redis_fresh) >= 1, "the watch connection")
    killed = time.monotonic()
    redis_fresh.stop()
    d.wait_for(d.incidents, "the incident", timeout=10)
    assert time.monotonic() - killed < 5  # the next regular run is a minute away


def _clients(redis: RedisServer) -> int:
    """Clients connected to the server besides the one asking (the daemon's watch)."""
    info = redis.cli("INFO", "clients")
    count = next(int(line.split(":")[1]) for line in info.splitlines()
                 if line.startswith("connected_clients:"))  # fmt: skip
    return count - 1


def test_for_and_auto_resolve_take_the_time_configured_not_an_interval_more(
    tmp_path: Path, redis_fresh: RedisServer, daemons: list[Daemon]
) -> None:
    """A 60 s interval, for: 2s and auto_resolve: 2s: the alert fires 2 s after the failure
    was first seen and the incident closes 2 s after recovery, not a minute later."""
    d = Daemon(tmp_path, redis_config(redis_fresh).replace("interval: 1s", "interval: 60s")
               .replace("for: 0s", "for: 2s") + "    auto_resolve: 2s\n")  # fmt: skip
    daemons.append(d)
    d.start()
    d.wait_for(lambda: d.metric("opsbook_check_status", check="cache") == 0, "the first run",
               timeout=15)  # fmt: skip
    d.wait_for(lambda: _clients(redis_fresh) >= 1, "the watch connection")
    redis_fresh.stop()
    d.wait_for(d.incidents, "the incident", timeout=15)
    fired = d.alert("check:cache")
    held = (fired.firing_since - fired.pending_since).total_seconds()
    assert 2 <= held < 4, held
    redis_fresh.start()
    d.wait_for(lambda: d.incidents()[0].phase == "resolved", "auto-resolution", timeout=15)
    alert = d.alert("check:cache")
    closed = d.incidents()[0].resolved_at
    waited = (closed - alert.resolved_at).total_seconds()
    assert 2 <= waited < 4, waited
