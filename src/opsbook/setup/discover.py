"""What of the runbook's stack answers on this machine, on its default ports."""

from __future__ import annotations

import asyncio
import glob
import os
from dataclasses import dataclass

from opsbook.clients.http import request
from opsbook.clients.net import open_connection
from opsbook.errors import CheckError
from opsbook.results import Phase

APP_PORTS = (8000, 8080, 3000, 5000, 80)
PROBE_TIMEOUT = 1.0
CERT_GLOB = "/etc/letsencrypt/live/*/cert.pem"
ACCESS_LOG = "/var/log/nginx/access.log"
ERROR_LOG = "/var/log/nginx/error.log"


@dataclass(frozen=True)
class Discovery:
    postgres: str | None  # host:port that accepted a connection
    redis: str | None
    app_url: str | None  # a /health URL that answered
    app_status: int | None
    cert_file: str | None
    metrics_url: str | None = None  # the app's Prometheus /metrics, if it has one
    access_log: str | None = None  # nginx's, if readable here
    error_log: str | None = None


async def _port_open(host: str, port: int) -> bool:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            conn = await open_connection(host, port, Phase())
            await conn.close()
            return True
    except (TimeoutError, CheckError):
        return False


async def _health(host: str, port: int) -> tuple[str, int] | None:
    url = f"http://{host}:{port}/health"
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            response = await request(url, Phase())
    except (TimeoutError, CheckError):
        return None
    return url, response.status


async def discover(
    host: str = "127.0.0.1",
    *,
    postgres_port: int = 5432,
    redis_port: int = 6379,
    app_ports: tuple[int, ...] = APP_PORTS,
    cert_glob: str = CERT_GLOB,
    access_log: str = ACCESS_LOG,
    error_log: str = ERROR_LOG,
) -> Discovery:
    pg, redis = await asyncio.gather(_port_open(host, postgres_port), _port_open(host, redis_port))
    apps = await asyncio.gather(*(_health(host, p) for p in app_ports))
    answered = [a for a in apps if a is not None]
    # Prefer an endpoint that says it is healthy; any answer beats none.
    answered.sort(key=lambda a: not 200 <= a[1] < 300)
    app = answered[0] if answered else None
    metrics = await _metrics(app[0].rsplit("/", 1)[0] + "/metrics") if app else None
    certs = sorted(glob.glob(cert_glob))
    return Discovery(
        postgres=f"{host}:{postgres_port}" if pg else None,
        redis=f"{host}:{redis_port}" if redis else None,
        app_url=app[0] if app else None,
        app_status=app[1] if app else None,
        cert_file=certs[0] if certs else None,
        metrics_url=metrics,
        access_log=access_log if os.access(access_log, os.R_OK) else None,
        error_log=error_log if os.access(error_log, os.R_OK) else None,
    )


async def _metrics(url: str) -> str | None:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            response = await request(url, Phase())
    except (TimeoutError, CheckError):
        return None
    return url if response.status == 200 and b"# TYPE" in response.body else None
