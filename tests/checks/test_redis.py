"""redis against a private redis-server the suite starts."""

from __future__ import annotations

from pathlib import Path

from opsbook.status import Status
from tests.support.servers import HttpApp, RedisServer, closed_port, silent_port

from .helpers import run


def test_ping_and_info_are_ok(redis: RedisServer) -> None:
    result = run({"type": "redis", "url": redis.url()})
    assert result.status is Status.OK
    assert result.message.startswith("Redis 7") or result.message.startswith("Redis ")
    assert "master" in result.message
    assert "no maxmemory" in result.message
    assert result.details["maxclients"] > 0


def _set_maxmemory_for(server: RedisServer, percent: float) -> None:
    """Make current used_memory be ``percent`` of maxmemory, on the real server."""
    used = int(
        next(
            line.split(":")[1]
            for line in server.cli("INFO", "memory").splitlines()
            if line.startswith("used_memory:")
        )
    )
    server.cli("CONFIG", "SET", "maxmemory", str(int(used * 100 / percent)))


def test_memory_against_maxmemory_warns_then_goes_critical(redis_fresh: RedisServer) -> None:
    spec = {"type": "redis", "url": redis_fresh.url(), "warning": "80%", "critical": "95%"}
    # Real data, so used_memory really moves.
    redis_fresh.cli("DEBUG", "POPULATE", "20000", "key", "64")
    _set_maxmemory_for(redis_fresh, 85)
    warn = run(spec)
    assert warn.status is Status.WARNING
    assert "of maxmemory" in warn.message
    _set_maxmemory_for(redis_fresh, 99)
    assert run(spec).status is Status.CRITICAL
    _set_maxmemory_for(redis_fresh, 30)
    assert run(spec).status is Status.OK
    _set_maxmemory_for(redis_fresh, 0.004)  # a big maxmemory: a small share, not zero
    small = run(spec)
    assert small.value is not None and 0.003 < small.value < 0.005


def test_clients_against_maxclients(redis_fresh: RedisServer) -> None:
    redis_fresh.cli("CONFIG", "SET", "maxclients", "2")
    spec = {"type": "redis", "url": redis_fresh.url(), "clients_warning": "40%",
            "clients_critical": "90%"}  # fmt: skip
    result = run(spec)  # the check itself is 1 of 2 clients: 50%
    assert result.status is Status.WARNING
    assert "1 client of 2" in result.message


def test_wrong_password_is_auth_failed_and_masked(redis_fresh: RedisServer) -> None:
    url = f"redis://:wrong-REDIS-pw@127.0.0.1:{redis_fresh.port}/0"
    result = run({"type": "redis", "url": url})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("auth failed")
    assert "wrong-REDIS-pw" not in result.message + result.target
    no_auth = run({"type": "redis", "url": f"redis://127.0.0.1:{redis_fresh.port}/0"})
    assert no_auth.status is Status.CRITICAL
    assert "auth failed: NOAUTH" in no_auth.message


def test_expected_role_mismatch_is_critical(redis: RedisServer) -> None:
    result = run({"type": "redis", "url": redis.url(), "role": "replica"})
    assert result.status is Status.CRITICAL
    assert "expected replica, is primary" in result.message


def test_a_replica_with_its_primary_gone_is_critical(redis_fresh: RedisServer) -> None:
    dead = closed_port()
    redis_fresh.cli("REPLICAOF", "127.0.0.1", str(dead))
    result = run({"type": "redis", "url": redis_fresh.url()})
    assert result.status is Status.CRITICAL
    assert "link to primary down" in result.message
    assert result.details["role"] == "replica"


def test_a_server_stopped_mid_suite_is_critical(redis_fresh: RedisServer) -> None:
    spec = {"type": "redis", "url": redis_fresh.url()}
    assert run(spec).status is Status.OK
    redis_fresh.stop()
    result = run(spec)
    assert result.status is Status.CRITICAL
    assert result.message.startswith("connection refused")


def test_a_port_that_never_answers_is_bounded_by_the_timeout() -> None:
    with silent_port() as port:
        result = run({"type": "redis", "url": f"redis://127.0.0.1:{port}/0", "timeout": "1s"})
    assert result.status is Status.CRITICAL
    assert result.message == "timed out after 1 s for PING"


def test_something_that_is_not_redis_is_critical(app: HttpApp) -> None:
    result = run({"type": "redis", "url": f"redis://127.0.0.1:{app.port}/0"})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("not a Redis server")


def test_a_unix_socket_url_works(tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    server = RedisServer(extra=("--unixsocket", str(sock)))
    server.start()
    try:
        result = run({"type": "redis", "url": f"unix://{sock}"})
    finally:
        server.destroy()
    assert result.status is Status.OK
    assert result.target == f"unix://{sock}"


def test_a_server_dying_mid_reply_is_critical_not_an_internal_error() -> None:
    import socket
    import struct
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def die_on_ping() -> None:
        conn, _ = listener.accept()
        conn.recv(100)  # the PING
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # RST: what a killed process looks like from the client

    threading.Thread(target=die_on_ping, daemon=True).start()
    try:
        result = run({"type": "redis", "url": f"redis://127.0.0.1:{port}/0"})
    finally:
        listener.close()
    assert result.status is Status.CRITICAL
    assert "internal error" not in result.message
    assert result.message.startswith(("connection to the Redis server lost", "connection closed"))
