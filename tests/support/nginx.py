"""A real nginx (Debian's), on a free port, in front of a small upstream the test drives, so
access logs are written by nginx itself: its escaping, its 400s for garbage, its $remote_user.

Clients get their own addresses through the realip module (X-Forwarded-For from loopback is
trusted), so one test process can be two hundred clients.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.servers import free_port, wait_for_port

TIMED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_response_time'
)


class _Upstream(BaseHTTPRequestHandler):
    """The app: 200 on its routes, 401 on /login, 500 on /api/fail, a dropped connection on
    /api/drop, a slow answer on /api/slow, 404 elsewhere."""

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        path = self.path.split("?")[0]
        if path == "/api/drop":
            self.close_connection = True
            self.connection.close()
            return
        if path == "/api/slow":
            time.sleep(0.3)
        status = 200
        if path == "/login":
            status = 401
        elif path == "/api/fail":
            status = 500
        elif not path.startswith(("/api/", "/graphql", "/shop/")):
            status = 404
        body = b'{"ok": true}' if status == 200 else b"no"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer()


class Nginx:
    def __init__(self, base: Path, log_format: str = TIMED) -> None:
        self.base = base
        self.port = free_port()
        self.upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
        self.upstream.daemon_threads = True
        self.root = base / "www"
        self.access_log = base / "access.log"
        self.error_log = base / "error.log"
        self.log_format = log_format
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        threading.Thread(target=self.upstream.serve_forever, daemon=True).start()
        (self.root / ".git").mkdir(parents=True)
        (self.root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")  # left deployed
        (self.root / "static").mkdir()
        (self.root / "static" / "app.css").write_text("body{}\n" * 50)
        (self.root / "favicon.ico").write_bytes(b"\0" * 300)
        for temp in ("client", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.base / "tmp" / temp).mkdir(parents=True)
        escaped = self.log_format.replace("'", "\\'")
        conf = self.base / "nginx.conf"
        conf.write_text(f"""
user root;
worker_processes 1;
pid {self.base}/nginx.pid;
error_log {self.error_log} info;
events {{ worker_connections 256; }}
http {{
    log_format opsbook '{escaped}';
    access_log {self.access_log} opsbook;
    client_body_temp_path {self.base}/tmp/client;
    proxy_temp_path {self.base}/tmp/proxy;
    fastcgi_temp_path {self.base}/tmp/fastcgi;
    uwsgi_temp_path {self.base}/tmp/uwsgi;
    scgi_temp_path {self.base}/tmp/scgi;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
        location /static/ {{ }}
        location = /favicon.ico {{ }}
        location /.git/ {{ }}
        location / {{
            proxy_pass http://127.0.0.1:{self.upstream.server_address[1]};
            proxy_read_timeout 5s;
        }}
    }}
}}
""")
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf), "-p", str(self.base), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)
        return self

    def send(self, raw: bytes) -> None:
        """Bytes as they are on the wire: a request line nginx must make sense of, or not."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(raw)
            try:
                while sock.recv(65536):
                    pass
            except OSError:
                pass

    def request(
        self, method: str, path: str, *, ip: str, agent: str = "Mozilla/5.0", referer: str = "",
        auth: str = "",
    ) -> None:  # fmt: skip
        headers = [f"{method} {path} HTTP/1.1", "Host: localhost", f"X-Forwarded-For: {ip}",
                   f"User-Agent: {agent}", "Connection: close", "Content-Length: 0"]  # fmt: skip
        if referer:
            headers.append(f"Referer: {referer}")
        if auth:
            headers.append(f"Authorization: Basic {auth}")
        self.send(("\r\n".join(headers) + "\r\n\r\n").encode())

    def flushed(self, lines: int, timeout: float = 10) -> list[str]:
        """The access log once it holds ``lines`` lines (nginx writes each as it finishes)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.access_log.read_text(errors="replace") if self.access_log.exists() else ""
            got = text.splitlines()
            if len(got) >= lines or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        self.upstream.shutdown()
        self.upstream.server_close()
