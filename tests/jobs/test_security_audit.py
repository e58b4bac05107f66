"""The monthly security audit against real things: a real nginx serving TLS (one endpoint
done right, one offering TLS 1.0/1.1 without HSTS), an access log with an answered probe, and
a socket listening on every address."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsbook.routines import exposure
from tests.conftest import CliResult
from tests.support import certs
from tests.support.servers import free_port, wait_for_port


@pytest.fixture
def nginx_tls(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    chain, key, ca = certs.server_files(tmp_path, days=90)
    good, weak = free_port(), free_port()
    for temp in ("client", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / temp).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
user root;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/tmp/client;
    proxy_temp_path {tmp_path}/tmp/proxy;
    fastcgi_temp_path {tmp_path}/tmp/fastcgi;
    uwsgi_temp_path {tmp_path}/tmp/uwsgi;
    scgi_temp_path {tmp_path}/tmp/scgi;
    ssl_certificate {chain};
    ssl_certificate_key {key};
    server {{
        listen 127.0.0.1:{good} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen 127.0.0.1:{weak} ssl;
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
        ssl_ciphers DEFAULT:@SECLEVEL=0;
        location / {{ return 200 "ok"; }}
    }}
}}
""")
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(good)
        wait_for_port(weak)
        yield good, weak, ca
    finally:
        proc.terminate()
        proc.wait(10)


def _access_log(path: Path) -> Path:
    now = datetime.now(UTC) - timedelta(hours=2)
    lines = []
    for i in range(40):
        at = (now + timedelta(seconds=i)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        lines.append(f'10.0.0.{i % 5} - - [{at}] "GET /api/orders/{i} HTTP/1.1" 200 512 "-" '
                     '"Mozilla/5.0"')  # fmt: skip
    at = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
    lines.append(f'203.0.113.9 - - [{at}] "GET /.git/HEAD HTTP/1.1" 200 23 "-" "curl/8.0"')
    for probe in ("/wp-login.php", "/.env", "/phpmyadmin/"):
        lines.append(f'203.0.113.9 - - [{at}] "GET {probe} HTTP/1.1" 404 153 "-" "curl/8.0"')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_audit_reads_tls_probing_and_listeners(
    tmp_path: Path, cli: CliResult, nginx_tls: tuple[int, int, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    good, weak, ca = nginx_tls
    log = _access_log(tmp_path / "access.log")
    exposed = socket.socket()
    exposed.bind(("0.0.0.0", 0))
    exposed.listen()
    port = exposed.getsockname()[1]
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"""
store: sqlite:///{tmp_path / "ops.db"}
checks:
  mem: {{type: memory}}
jobs:
  audit:
    action: security-audit
    endpoints: ["https://localhost:{good}/", "https://localhost:{weak}/"]
    ca_file: {ca}
    access_logs: [{log}]
    expected_ports: [22, 443]
""")
    monkeypatch.setenv("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")  # no trivy, no gitleaks
    try:
        result = cli("jobs", "exec", "audit", "-f", "json", "--config", str(config))
    finally:
        exposed.close()
    report = json.loads(result.out)
    titles = {f["title"]: f["status"] for f in report["findings"]}
    assert titles["203.0.113.9 got 200 for /.git/HEAD (1×)"] == "CRITICAL"
    assert result.code == 2
    assert titles[f"https://localhost:{weak}/ offers TLS 1.0, TLS 1.1"] == "WARNING"
    assert titles[f"https://localhost:{weak}/: no HSTS header"] == "WARNING"
    assert not [t for t in titles if f":{good}/" in t]  # the good endpoint has no finding
    assert any(t.endswith(f"listens on 0.0.0.0:{port}") for t in titles)
    text = report["report"]
    assert f"https://localhost:{good}/: TLS 1.0 no, TLS 1.1 no, TLS 1.2 yes, TLS 1.3 yes" in text
    assert "HSTS: max-age=31536000; includeSubDomains" in text
    assert "suspect 203.0.113.9" in text
    assert "## Pending updates" in text  # the updates review is part of it


def test_an_untrusted_chain_is_critical(nginx_tls: tuple[int, int, Path]) -> None:
    good, _, _ = nginx_tls
    found, _ = exposure.endpoint(f"https://localhost:{good}/", None)
    assert [(f.status.name, f.title) for f in found] == [
        ("CRITICAL", f"https://localhost:{good}/: certificate not trusted")
    ]
    assert "unable to get local issuer certificate" in found[0].detail
