"""tls: certificates made here, read from files and from a live TLS server."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.status import Status
from tests.conftest import TlsApp
from tests.support import certs
from tests.support.servers import closed_port, silent_port

from .helpers import run


@pytest.fixture(scope="module")
def ca() -> certs.Issued:
    return certs.issue("test root", days=3650, ca=True)


def leaf_file(tmp_path: Path, ca: certs.Issued, days: float, name: str = "leaf.pem") -> Path:
    leaf = certs.issue("example.com", days=days, issuer=ca)
    return certs.write(tmp_path / name, leaf)


@pytest.mark.parametrize(
    ("days", "status"),
    [(90, Status.OK), (20, Status.WARNING), (3, Status.CRITICAL), (-2, Status.CRITICAL)],
)
def test_file_expiry_against_thresholds(
    tmp_path: Path, ca: certs.Issued, days: float, status: Status
) -> None:
    path = leaf_file(tmp_path, ca, days)
    result = run({"type": "tls", "file": str(path), "warning": "30d", "critical": "7d"})
    assert result.status is status
    assert result.value == pytest.approx(days, abs=0.1)
    assert result.unit.value == "days"
    assert result.message.startswith("CN=example.com ")


def test_an_expired_certificate_says_so(tmp_path: Path, ca: certs.Issued) -> None:
    result = run({"type": "tls", "file": str(leaf_file(tmp_path, ca, -2))})
    assert result.status is Status.CRITICAL
    assert "expired 2 days ago" in result.message


def test_the_chain_is_reported_separately_and_drives_the_status(
    tmp_path: Path, ca: certs.Issued
) -> None:
    inter = certs.issue("Short Intermediate", days=5, issuer=ca, ca=True)
    leaf = certs.issue("example.com", days=80, issuer=inter)
    path = certs.write(tmp_path / "fullchain.pem", leaf, inter)
    result = run({"type": "tls", "file": str(path)})
    assert result.status is Status.CRITICAL  # the intermediate expires in 5 days
    assert result.value == pytest.approx(80, abs=0.1)  # the value is the leaf's
    assert "chain: CN=Short Intermediate expires" in result.message
    chain_metric = next(m for m in result.metrics if m.name == "chain_days_left")
    assert chain_metric.value == pytest.approx(5, abs=0.1)
    assert result.details["chain_length"] == 2


def test_missing_or_garbage_files_are_unknown(tmp_path: Path) -> None:
    missing = run({"type": "tls", "file": str(tmp_path / "nope.pem")})
    assert missing.status is Status.UNKNOWN
    assert "no such file" in missing.message
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    garbage = run({"type": "tls", "file": str(junk)})
    assert garbage.status is Status.UNKNOWN
    assert "no PEM or DER certificate" in garbage.message


def test_live_handshake_reports_leaf_and_chain(tls_app: TlsApp) -> None:
    # tls_app serves a 20-day leaf under a 12-day intermediate.
    spec = {"type": "tls", "host": f"localhost:{tls_app.server.port}",
            "ca_file": str(tls_app.ca_file)}  # fmt: skip
    result = run(spec)
    assert result.status is Status.WARNING
    assert result.value == pytest.approx(20, abs=0.1)
    chain = next(m for m in result.metrics if m.name == "chain_days_left")
    assert chain.value == pytest.approx(12, abs=0.1)
    assert "chain: CN=opsbook test intermediate" in result.message


def test_live_handshake_with_an_untrusted_certificate_is_critical_but_still_dated(
    tls_app: TlsApp,
) -> None:
    result = run({"type": "tls", "host": f"localhost:{tls_app.server.port}"})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("TLS error: certificate verify failed")
    assert result.value == pytest.approx(20, abs=0.1)
    unverified = run({"type": "tls", "host": f"localhost:{tls_app.server.port}", "verify": False})
    assert unverified.status is Status.WARNING


def test_live_handshake_failures() -> None:
    refused = run({"type": "tls", "host": f"127.0.0.1:{closed_port()}"})
    assert refused.status is Status.CRITICAL
    assert refused.message.startswith("connection refused")
    with silent_port() as port:
        hung = run({"type": "tls", "host": f"127.0.0.1:{port}", "timeout": "1s"})
    assert hung.status is Status.CRITICAL
    assert hung.message.startswith("timed out after 1 s in the TLS handshake")
