"""What of the runbook's stack answers on this machine, on its default ports."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from opsbook.clients.http import request
from opsbook.clients.net import open_connection
from opsbook.config.container_checks import COMPOSE_PROJECT, COMPOSE_SERVICE
from opsbook.errors import CheckError
from opsbook.results import Phase
from opsbook.secrets import secrets_in, without_secrets

APP_PORTS = (8000, 8080, 3000, 5000, 80)
PROBE_TIMEOUT = 1.0
CERT_GLOB = "/etc/letsencrypt/live/*/cert.pem"
ACCESS_LOG = "/var/log/nginx/access.log"
ERROR_LOG = "/var/log/nginx/error.log"
DOCKER_SOCKET = "/var/run/docker.sock"
UNIT_DIR = "/lib/systemd/system"
STACK_UNITS = ("nginx", "postgresql", "redis-server")


@dataclass(frozen=True)
class Target:
    """Where one part of the stack is, and how init knows."""

    address: str  # DSN or URL, as given (it may hold a password: never written as is)
    origin: str  # "found listening on 127.0.0.1:5432", "from $DATABASE_URL", "from --postgres"

    @property
    def written(self) -> str:
        return without_secrets(self.address)

    @property
    def has_secret(self) -> bool:
        return bool(secrets_in(self.address))


@dataclass(frozen=True)
class Discovery:
    postgres: Target | None
    redis: Target | None
    app: Target | None  # a /health URL
    app_status: int | None  # what it answered, when init probed it
    cert_file: str | None
    metrics_url: str | None = None  # the app's Prometheus /metrics, if it has one
    access_log: str | None = None  # nginx's, if readable here
    error_log: str | None = None
    pgbouncer: Target | None = None  # its admin console, if something listens on 6432
    postgres_log: str | None = None  # Debian's server log, if readable here
    # compose projects the Docker socket shows: project -> its services
    compose: dict[str, tuple[str, ...]] = field(default_factory=dict)
    docker_socket: str | None = None
    units: tuple[str, ...] = ()  # systemd units of the stack found on this host


@dataclass(frozen=True)
class Given:
    """What the user said (an option, else an environment variable), with where it came from."""

    postgres: tuple[str, str] | None = None  # (DSN, origin)
    redis: tuple[str, str] | None = None
    health: tuple[str, str] | None = None

    @classmethod
    def from_sources(
        cls, env: dict[str, str], postgres: str | None, redis: str | None, http: str | None
    ) -> Given:
        def pick(option: str | None, flag: str, var: str) -> tuple[str, str] | None:
            if option:
                return option, f"from {flag}"
            if env.get(var):
                return env[var], f"from ${var}"
            return None

        return cls(
            pick(postgres, "--postgres", "DATABASE_URL"),
            pick(redis, "--redis", "REDIS_URL"),
            pick(http, "--http", "OPSBOOK_HEALTH_URL"),
        )


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


POSTGRES_LOGS = "/var/log/postgresql/postgresql-*-main.log"


async def discover(
    host: str = "127.0.0.1",
    *,
    given: Given = Given(),
    postgres_port: int = 5432,
    redis_port: int = 6379,
    app_ports: tuple[int, ...] = APP_PORTS,
    cert_glob: str = CERT_GLOB,
    access_log: str = ACCESS_LOG,
    error_log: str = ERROR_LOG,
    pgbouncer_port: int = 6432,
    postgres_logs: str = POSTGRES_LOGS,
    docker_socket: str = DOCKER_SOCKET,
    unit_dir: str = UNIT_DIR,
) -> Discovery:
    """Probe the default ports for what the user did not say; what they said is taken as is."""
    pg, redis, bouncer = await asyncio.gather(
        _found(host, postgres_port, given.postgres, "postgresql://postgres@{}/postgres"),
        _found(host, redis_port, given.redis, "redis://{}/0"),
        _found(host, pgbouncer_port, None, "postgresql://pgbouncer@{}/pgbouncer"),
    )
    if given.health:
        app: Target | None = Target(*given.health)
        status = None
    else:
        apps = await asyncio.gather(*(_health(host, p) for p in app_ports))
        answered = [a for a in apps if a is not None]
        # Prefer an endpoint that says it is healthy; any answer beats none.
        answered.sort(key=lambda a: not 200 <= a[1] < 300)
        app = Target(answered[0][0], f"answered HTTP {answered[0][1]}") if answered else None
        status = answered[0][1] if answered else None
    metrics = await _metrics(app.written.rsplit("/", 1)[0] + "/metrics") if app else None
    certs = sorted(glob.glob(cert_glob))
    return Discovery(
        postgres=pg,
        redis=redis,
        app=app,
        app_status=status,
        cert_file=certs[0] if certs else None,
        metrics_url=metrics,
        access_log=access_log if os.access(access_log, os.R_OK) else None,
        error_log=error_log if os.access(error_log, os.R_OK) else None,
        pgbouncer=bouncer,
        postgres_log=next(
            (p for p in sorted(glob.glob(postgres_logs)) if os.access(p, os.R_OK)), None
        ),
        compose=await asyncio.to_thread(_compose, docker_socket),
        docker_socket=docker_socket if Path(docker_socket).exists() else None,
        units=_units(unit_dir),
    )


def _compose(socket: str) -> dict[str, tuple[str, ...]]:
    """Compose projects and their services, from the containers' labels (none without a
    reachable socket)."""
    from opsbook.clients.docker import Docker
    from opsbook.errors import DockerError

    if not Path(socket).exists():
        return {}
    try:
        listed = Docker(socket, timeout=3).containers({"label": [COMPOSE_PROJECT]})
    except DockerError:
        return {}
    found: dict[str, set[str]] = {}
    for c in listed:
        labels = c.get("Labels") or {}
        found.setdefault(labels[COMPOSE_PROJECT], set()).add(labels.get(COMPOSE_SERVICE, ""))
    return {p: tuple(sorted(s for s in services if s)) for p, services in sorted(found.items())}


def _units(unit_dir: str) -> tuple[str, ...]:
    """The stack's systemd units installed here (nginx, PostgreSQL, Redis)."""
    if not shutil.which("systemctl"):
        return ()
    return tuple(u for u in STACK_UNITS if (Path(unit_dir) / f"{u}.service").exists())


async def _found(
    host: str, port: int, given: tuple[str, str] | None, template: str
) -> Target | None:
    if given:
        return Target(*given)
    if await _port_open(host, port):
        return Target(template.format(f"{host}:{port}"), f"found listening on {host}:{port}")
    return None


async def _metrics(url: str) -> str | None:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            response = await request(url, Phase())
    except (TimeoutError, CheckError):
        return None
    return url if response.status == 200 and b"# TYPE" in response.body else None
