"""A hostile or careless client against a real daemon: idle connections by the thousand
neither silence /health nor starve the checks, and nothing false is paged."""

from __future__ import annotations

import contextlib
import resource
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import Daemon
from tests.support.servers import RedisServer

IDLE = 1000


@pytest.fixture
def many_descriptors() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < IDLE + 200:
        pytest.skip(f"this process may open only {hard} files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, IDLE + 200), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def idle_connections(port: int, n: int) -> list[socket.socket]:
    """n connections that never send a byte (non-blocking: a full backlog does not stall us)."""
    made = []
    for _ in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        made.append(sock)
    return made


def test_a_thousand_idle_connections_do_not_silence_health_or_starve_the_checks(
    tmp_path: Path, redis: RedisServer, many_descriptors: None
) -> None:
    d = Daemon(tmp_path, f"""
checks:
  cache: {{type: redis, url: "{redis.url()}", interval: 1s, for: 0s, severity: SEV-1}}
""")  # fmt: skip
    try:
        d.start(nofile=256)  # a small limit, as a container might have
        d.wait_runs("cache", 1, "OK")
        held = idle_connections(d.port, IDLE)
        try:
            health = d.wait_for(d.health, "/health to answer under the flood", timeout=30)
            d.wait_runs("cache", 3, "OK", timeout=30)  # the checks go on, and are right
            after = d.health()
        finally:
            for sock in held:
                with contextlib.suppress(OSError):
                    sock.close()
        assert health["status"] == "ok", health
        assert after is not None and after["status"] == "ok", after
        assert d.incidents() == []  # no false page from opsbook's own trouble
        assert d.log.stat().st_size < 200_000  # the log did not flood
        assert d.stop() == 0
    finally:
        d.close()
