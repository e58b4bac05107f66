"""Real servers the suite owns: a private PostgreSQL cluster, a private redis-server, a
local HTTP(S) app, and a port that accepts connections and never answers.

Used by the test fixtures and by bench/. PostgreSQL refuses to run as root, so when the
suite runs as root (CI does) the cluster runs as the ``postgres`` OS user in a directory
that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SUPERUSER_PASSWORD = "pg-super-Secr3t"


class ServerMissing(RuntimeError):
    """A server binary is not installed; scripts/test installs them."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


# ---------------------------------------------------------------- PostgreSQL


def pg_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    env = os.environ.get("OPSBOOK_PG_BIN")
    if env:
        return Path(env)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ServerMissing("PostgreSQL server binaries not found; run scripts/test to install them")


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _chown_to_postgres(path: Path) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam("postgres")
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name in dirs + files:
            os.lchown(Path(root) / name, pw.pw_uid, pw.pw_gid)


class PostgresServer:
    """One cluster in its own directory, on its own port."""

    def __init__(self, base: Path, *, max_connections: int = 40) -> None:
        self.base = base
        self.data = base / "data"
        self.sockets = base / "sockets"
        self.port = free_port()
        self.bindir = pg_bindir()
        self.max_connections = max_connections
        # as postgresql.conf would say it ('$libdir/pg_stat_statements' too: written to the
        # file, since pg_ctl -o passes options through a shell)
        self.preload = "pg_stat_statements"
        self.started_once = False

    @classmethod
    def create(cls, template: Path | None = None, **kwargs: int) -> PostgresServer:
        base = Path(tempfile.mkdtemp(prefix="opsbook-pg-"))
        base.chmod(0o755)
        server = cls(base, **kwargs)
        server.sockets.mkdir()
        if template is not None:
            shutil.copytree(template, server.data, symlinks=True)
            server.data.chmod(0o700)
        else:
            server._initdb()
        _chown_to_postgres(base)
        return server

    def _initdb(self) -> None:
        pwfile = self.base / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD)
        _chown_to_postgres(self.base)
        subprocess.run(
            [*_as_postgres(), str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
             "--no-sync", "-E", "UTF8", "--locale=C"],
            check=True, capture_output=True,
        )  # fmt: skip
        pwfile.unlink()

    def start(self) -> None:
        """pg_ctl start. The port was free when picked, but another server the suite starts
        at the same moment can take it first: the first start moves to a fresh port (no
        address of this one has been handed out yet); a restart keeps its own."""
        for attempt in range(3):
            try:
                self._start()
            except subprocess.CalledProcessError as exc:
                log = (self.base / "log").read_text(errors="replace")[-2000:]
                taken = "could not bind" in log or "already in use" in log
                if self.started_once or not taken or attempt == 2:
                    raise RuntimeError(f"pg_ctl start failed ({exc.returncode}): {log}") from exc
                self.port = free_port()
                continue
            self.started_once = True
            return

    def _start(self) -> None:
        options = " ".join([
            f"-p {self.port}",
            f"-k {self.sockets}",
            "-c listen_addresses=127.0.0.1",
            f"-c max_connections={self.max_connections}",
            "-c superuser_reserved_connections=3",
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        ])  # fmt: skip
        conf = self.data / "postgresql.conf"
        lines = [ln for ln in conf.read_text().splitlines()
                 if not ln.startswith("shared_preload_libraries")]  # fmt: skip
        conf.write_text("\n".join([*lines, f"shared_preload_libraries = '{self.preload}'"]) + "\n")
        subprocess.run(
            [*_as_postgres(), str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
             str(self.base / "log"), "-o", options, "-w", "-t", "60", "start"],
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            [*_as_postgres(), str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode,
             "-w", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = subprocess.run(
            [str(self.bindir / "psql"), "-h", str(self.sockets), "-p", str(self.port), "-U",
             "postgres", "-d", db, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout.strip()

    def switch_and_archive(self, timeout: float = 60) -> None:
        """Close the current WAL segment and wait until the archiver has taken it."""
        import time

        segment = self.psql("SELECT pg_walfile_name(pg_switch_wal())")
        deadline = time.monotonic() + timeout
        while self.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") < segment:
            if time.monotonic() > deadline:
                raise AssertionError(f"WAL segment {segment} not archived in {timeout:.0f} s")
            time.sleep(0.1)

    def dsn(self, user: str = "postgres", password: str = SUPERUSER_PASSWORD,
            db: str = "postgres") -> str:  # fmt: skip
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{db}"


# ---------------------------------------------------------------- Redis


class RedisServer:
    def __init__(self, *, password: str | None = None, extra: tuple[str, ...] = ()) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerMissing("redis-server not found; run scripts/test to install it")
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="opsbook-redis-"))
        self.password = password
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no",
                "--logfile", str(self.dir / "log"), *self.extra]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def cli(self, *args: str) -> str:
        auth = ["-a", self.password, "--no-auth-warning"] if self.password else []
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), *auth, *args],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout.strip()

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"


# ---------------------------------------------------------------- HTTP app


class _AppHandler(BaseHTTPRequestHandler):
    """/health, /degraded, /slow?s=N, /status/NNN, /redirect, /echo-headers."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              extra: dict[str, str] | None = None) -> None:  # fmt: skip
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/health":
            self._send(200, json.dumps({"status": "ok", "checks": {"db": "ok"}}).encode())
        elif url.path == "/degraded":
            self._send(200, json.dumps({"status": "degraded", "checks": {"db": "down"}}).encode())
        elif url.path == "/slow":
            time.sleep(float(query.get("s", ["1"])[0]))
            self._send(200, b'{"status": "ok"}')
        elif url.path.startswith("/status/"):
            self._send(int(url.path.rsplit("/", 1)[1]), b'{"error": "as requested"}')
        elif url.path == "/redirect":
            self._send(302, b"", "text/plain", {"Location": "/health"})
        elif url.path == "/echo-headers":
            self._send(200, json.dumps(dict(self.headers.items())).encode())
        elif url.path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            body = generate_latest(self.server.app_metrics.registry)  # type: ignore[attr-defined]
            self._send(200, body, CONTENT_TYPE_LATEST)
        elif url.path == "/text":
            self._send(200, b"all systems go", "text/plain")
        else:
            self._send(404, b'{"error": "not found"}')


class AppMetrics:
    """The app's own /metrics, real prometheus_client objects a test drives."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "Requests.", ["status"], registry=self.registry)
        self.latency = Histogram(
            "http_request_duration_seconds", "Latency.", registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5),
        )  # fmt: skip
        self.pool = Gauge("db_pool_in_use", "Pool connections in use.", registry=self.registry)

    def serve(self, n: int, status: str = "200", seconds: float = 0.02) -> None:
        for _ in range(n):
            self.requests.labels(status).inc()
            self.latency.observe(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's default of 5 drops SYNs under concurrent probes


class HttpApp:
    """The app the runbook's /health check talks to, optionally over TLS."""

    def __init__(self, *, certfile: Path | None = None, keyfile: Path | None = None) -> None:
        self.server = _Server(("127.0.0.1", 0), _AppHandler)
        self.metrics = AppMetrics()
        self.server.app_metrics = self.metrics  # type: ignore[attr-defined]
        self.scheme = "http"
        if certfile is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> HttpApp:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/health", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A port whose backlog accepts connections (the kernel completes the handshake) but
    nothing ever reads or answers: the classic hung server."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def closed_port() -> int:
    """A port nothing listens on (connections are refused)."""
    return free_port()


# ---------------------------------------------------------------- S3 (moto's server mode)


class S3Server:
    """moto's S3-compatible server on a free loopback port, a real HTTP endpoint for boto3."""

    ACCESS_KEY = "opsbook-test-key"
    SECRET_KEY = "s3-Secr3t-test-value"

    def __init__(self, *, tls: bool = False) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # HTTPS with a self-signed certificate for 127.0.0.1 (pgBackRest speaks HTTPS only):
        # the certificate is its own CA (ca_file), readable by every user
        self.cert: Path | None = None
        if tls:
            where = Path(tempfile.mkdtemp(prefix="opsbook-s3-tls-"))
            where.chmod(0o755)
            self.cert, key = where / "cert.pem", where / "key.pem"
            # pgBackRest matches the host name, not an IP address, against the certificate
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "2", "-subj", "/CN=localhost", "-addext",
                            "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key),
                            "-out", str(self.cert)], check=True, capture_output=True)  # fmt: skip
            self.cert.chmod(0o644)
            self.key = key

    @property
    def endpoint(self) -> str:
        return f"https://localhost:{self.port}" if self.cert else f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import sys

        plain = free_port() if self.cert else self.port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(plain)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(plain)
        self.tls_proxy: subprocess.Popen[bytes] | None = None
        if self.cert:  # nginx terminates TLS in front (moto's own TLS closes connections
            # abruptly, which pgBackRest's client rightly refuses)
            self.tls_proxy = _tls_proxy(self.cert.parent, self.port, plain, self.cert, self.key)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        proxy = getattr(self, "tls_proxy", None)
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=10)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.ACCESS_KEY, aws_secret_access_key=self.SECRET_KEY,
            verify=str(self.cert) if self.cert else None,
        )  # fmt: skip

    def bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name


def _tls_proxy(work: Path, port: int, upstream: int, cert: Path,
               key: Path) -> subprocess.Popen[bytes]:  # fmt: skip
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {work};
  proxy_temp_path {work};
  upstream moto {{ server 127.0.0.1:{upstream}; keepalive 16; }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    client_max_body_size 0;
    proxy_request_buffering off;
    location / {{
      proxy_pass http://moto;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }}
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_for_port(port)
    return proc


class RedisExporter:
    """Debian's prometheus-redis-exporter: a real exporter for the prometheus check."""

    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisExporter:
        binary = shutil.which("prometheus-redis-exporter")
        if binary is None:
            raise RuntimeError("prometheus-redis-exporter is not installed (scripts/dev-setup)")
        self.proc = subprocess.Popen(
            [binary, "-redis.addr", f"redis://127.0.0.1:{self.redis_port}",
             "-web.listen-address", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)
        return self

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
