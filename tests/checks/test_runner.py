"""Running many checks at once: a hung target never holds up the others."""

from __future__ import annotations

import time

from opsbook.status import Status
from tests.support.servers import HttpApp, PostgresServer, RedisServer, silent_port

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


SHORT_OF_FILES = r"""
import json, resource, sys
from opsbook import aio
from opsbook.checks.runner import run_checks
from opsbook.config.model import validate
from opsbook.secrets import Redactor
import opsbook.checks.tcp, opsbook.checks.postgres, opsbook.checks.redis  # imports first
config, _ = validate({"checks": {
    "tcp": {"type": "tcp", "host": sys.argv[1]},
    "db": {"type": "postgres", "dsn": sys.argv[2]},
    "cache": {"type": "redis", "url": sys.argv[3]},
}})
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

async def main():
    held = []  # the loop is up; now every descriptor is taken
    try:
        while True:
            held.append(open("/dev/null"))
    except OSError:
        pass
    try:
        return await run_checks(config.checks, Redactor([]))
    finally:
        for h in held:
            h.close()

results = aio.run(main())
print(json.dumps([[r.name, r.status.name, r.local_fault, r.message] for r in results]))
"""


def test_opsbook_out_of_descriptors_is_its_own_fault_not_the_targets(
    pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", SHORT_OF_FILES, f"127.0.0.1:{app.port}", pg.dsn(), redis.url()],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results, done.stderr
    for name, status, local, message in results:
        assert (status, local) == ("UNKNOWN", True), (name, message)
        assert message.startswith("not measured: opsbook:"), (name, message)
        assert "open files" in message.lower() or "file descriptors" in message, (name, message)
