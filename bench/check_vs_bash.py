"""`opsbook check` against the runbook's bash health-check script, in one run, on this machine.

Builds the runbook's stack from the test servers (a private PostgreSQL cluster, a private
redis-server, a local HTTP app, certificates made here), then times:

1. one service: the bash script's six checks vs `opsbook check` with the same six;
2. ten services: the bash script looped over the ten vs one `opsbook check` of all 60 checks,
   where a few of the apps' /health endpoints are slow.

Both sides run alternately, several times each; medians are compared. Usage:

    .venv/bin/python bench/check_vs_bash.py [--runs 7] [--slow 3] [--slow-seconds 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import certs  # noqa: E402
from tests.support.servers import (  # noqa: E402
    SUPERUSER_PASSWORD,
    HttpApp,
    PostgresServer,
    RedisServer,
)

BASH_SCRIPT = ROOT / "bench" / "runbook_health_check.sh"
FLOOR_IMPORTS = (
    "import asyncio, ssl, json, socket, click, yaml, msgspec, h11, psycopg, cryptography.x509"
)


def opsbook_command() -> list[str]:
    exe = Path(sys.executable).parent / "opsbook"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "opsbook"]


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)  # fmt: skip
    return time.perf_counter() - start


def bash_env(app: HttpApp, pg: PostgresServer, redis: RedisServer, i: int, cert: Path,
             slow: bool, slow_seconds: float) -> dict[str, str]:  # fmt: skip
    path = f"/slow?s={slow_seconds}" if slow else "/health"
    return {
        **os.environ,
        "APP_URL": app.url(path),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(pg.port),
        "PGDATABASE": f"svc{i}",
        "REDIS_PORT": str(redis.port),
        "REDIS_DB": str(i % 16),
        "CERT_FILE": str(cert),
    }


def service_checks(app: HttpApp, pg: PostgresServer, redis: RedisServer, i: int, cert: Path,
                   slow: bool, slow_seconds: float) -> str:  # fmt: skip
    path = f"/slow?s={slow_seconds}" if slow else "/health"
    dsn = f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{pg.port}/svc{i}"
    return f"""
  app{i}:
    type: http
    url: {app.url(path)}
    expect_status: 200
  db{i}:
    type: postgres
    dsn: {dsn}
  cache{i}:
    type: redis
    url: redis://127.0.0.1:{redis.port}/{i % 16}
  disk{i}:
    type: disk
    path: /
  memory{i}:
    type: memory
  cert{i}:
    type: tls
    file: {cert}
"""


def median_pair(runs: int, a: list[str], a_envs: list[dict[str, str]], b: list[str],
                b_env: dict[str, str]) -> tuple[float, float]:  # fmt: skip
    """Median wall time of running ``a`` once per env in ``a_envs`` (a loop), and of ``b``."""
    a_times, b_times = [], []
    for _ in range(runs):
        a_times.append(sum(timed(a, env) for env in a_envs))
        b_times.append(timed(b, b_env))
    return statistics.median(a_times), statistics.median(b_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--slow", type=int, default=3, help="services with a slow /health")
    parser.add_argument("--slow-seconds", type=float, default=1.0)
    args = parser.parse_args()
    for tool in ("curl", "pg_isready", "redis-cli", "openssl", "bash"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} not found (apt-get install curl postgresql-client "
                     "redis-tools openssl)")  # fmt: skip

    work = Path(tempfile.mkdtemp(prefix="opsbook-bench-"))
    pg = PostgresServer.create()
    pg.start()
    redis = RedisServer()
    redis.start()
    app = HttpApp().start()
    try:
        ca = certs.issue("bench root", days=3650, ca=True)
        cert_files = []
        for i in range(args.services):
            pg.psql(f"CREATE DATABASE svc{i}")
            leaf = certs.issue(f"svc{i}.example.com", days=60 + i, issuer=ca)
            cert_files.append(certs.write(work / f"cert{i}.pem", leaf))

        ops = opsbook_command()
        # Warm both sides (page cache, .pyc files) before measuring.
        one_cfg = work / "one.yaml"
        one_cfg.write_text("service: bench\nchecks:" + service_checks(
            app, pg, redis, 0, cert_files[0], False, args.slow_seconds))  # fmt: skip
        one_bash = bash_env(app, pg, redis, 0, cert_files[0], False, args.slow_seconds)
        for _ in range(2):
            timed(["bash", str(BASH_SCRIPT)], one_bash)
            timed([*ops, "check", "-c", str(one_cfg)], dict(os.environ))
        probe = subprocess.run([*ops, "check", "-c", str(one_cfg), "-f", "nagios"],
                               capture_output=True, text=True, check=False)  # fmt: skip
        print(f"opsbook, one service: {probe.stdout.splitlines()[0][:100]}")

        bash1, ops1 = median_pair(
            args.runs, ["bash", str(BASH_SCRIPT)], [one_bash],
            [*ops, "check", "-c", str(one_cfg)], dict(os.environ),
        )  # fmt: skip
        # The floor: only importing the libraries those six checks need, doing nothing.
        floor = statistics.median(
            timed([sys.executable, "-c", FLOOR_IMPORTS], dict(os.environ)) for _ in range(args.runs)
        )

        slow = set(range(args.slow))
        many_cfg = work / "many.yaml"
        many_cfg.write_text("service: bench\nchecks:" + "".join(
            service_checks(app, pg, redis, i, cert_files[i], i in slow, args.slow_seconds)
            for i in range(args.services)))  # fmt: skip
        envs = [bash_env(app, pg, redis, i, cert_files[i], i in slow, args.slow_seconds)
                for i in range(args.services)]  # fmt: skip
        bash10, ops10 = median_pair(
            args.runs, ["bash", str(BASH_SCRIPT)], envs,
            [*ops, "check", "-c", str(many_cfg)], dict(os.environ),
        )  # fmt: skip

        print(f"\nmachine: {os.cpu_count()} CPUs; medians of {args.runs} runs, alternating")
        print(f"one service, 6 checks:   bash {bash1 * 1000:7.0f} ms   "
              f"opsbook {ops1 * 1000:7.0f} ms   opsbook/bash = {ops1 / bash1:.2f}x "
              f"(target: <= 3x)")  # fmt: skip
        print(f"  of which importing the libraries alone (python -c 'import …'): "
              f"{floor * 1000:.0f} ms = {floor / bash1:.2f}x bash")  # fmt: skip
        print(f"{args.services} services, {args.services * 6} checks, {args.slow} slow "
              f"(/health {args.slow_seconds:g} s):")  # fmt: skip
        print(f"                         bash {bash10 * 1000:7.0f} ms   "
              f"opsbook {ops10 * 1000:7.0f} ms   bash/opsbook = {bash10 / ops10:.2f}x faster "
              f"(target: >= 5x)")  # fmt: skip
    finally:
        app.stop()
        redis.destroy()
        pg.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
