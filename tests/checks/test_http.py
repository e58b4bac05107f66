"""http against a real local app (and a real TLS server with a certificate made here)."""

from __future__ import annotations

from opsbook.status import Status
from tests.conftest import TlsApp
from tests.support.servers import HttpApp, closed_port, silent_port

from .helpers import run


def test_healthy_endpoint_is_ok_with_timings(app: HttpApp) -> None:
    result = run({"type": "http", "url": app.url(), "expect_status": 200})
    assert result.status is Status.OK
    assert result.message.startswith("HTTP 200 OK in")
    assert result.unit.value == "s"
    assert result.value is not None and 0 < result.value < 5
    assert result.details["timings_ms"]["connect"] > 0
    assert {m.name for m in result.metrics} >= {"time", "time_connect", "time_first_byte"}


def test_unexpected_status_is_critical(app: HttpApp) -> None:
    result = run({"type": "http", "url": app.url("/status/503")})
    assert result.status is Status.CRITICAL
    assert "HTTP 503" in result.message
    assert "expected 2xx" in result.message


def test_expect_status_accepts_a_list(app: HttpApp) -> None:
    spec = {"type": "http", "url": app.url("/status/404"), "expect_status": [200, 404]}
    assert run(spec).status is Status.OK


def test_body_substring_and_json_fields(app: HttpApp) -> None:
    ok = run({"type": "http", "url": app.url("/text"), "expect_body": "systems go"})
    assert ok.status is Status.OK
    missing = run({"type": "http", "url": app.url("/text"), "expect_body": "all good"})
    assert missing.status is Status.CRITICAL
    assert "body does not contain 'all good'" in missing.message
    json_ok = run(
        {"type": "http", "url": app.url(), "expect_json": {"status": "ok", "checks.db": "ok"}}
    )
    assert json_ok.status is Status.OK
    degraded = run({"type": "http", "url": app.url("/degraded"), "expect_json": {"status": "ok"}})
    assert degraded.status is Status.CRITICAL
    assert 'JSON status is "degraded", expected "ok"' in degraded.message


def test_latency_thresholds_warn_and_go_critical(app: HttpApp) -> None:
    slow = app.url("/slow?s=0.4")
    warn = run({"type": "http", "url": slow, "warning": "200ms", "critical": "3s"})
    assert warn.status is Status.WARNING
    assert "slower than 200 ms" in warn.message
    crit = run({"type": "http", "url": slow, "warning": "100ms", "critical": "300ms"})
    assert crit.status is Status.CRITICAL


def test_redirects_are_not_followed_unless_asked(app: HttpApp) -> None:
    plain = run({"type": "http", "url": app.url("/redirect")})
    assert plain.status is Status.CRITICAL
    assert "HTTP 302" in plain.message
    assert "to /health" in plain.message
    followed = run({"type": "http", "url": app.url("/redirect"), "follow_redirects": True})
    assert followed.status is Status.OK


def test_custom_headers_are_sent_and_their_secrets_never_printed(app: HttpApp) -> None:
    result = run(
        {
            "type": "http",
            "url": app.url("/echo-headers"),
            "headers": {"Authorization": "Bearer tok-SECRET-123"},
            "expect_body": "nothing-like-this",
        }
    )
    assert result.status is Status.CRITICAL  # the body echo did arrive, but did not match
    assert "tok-SECRET-123" not in result.message


def test_refused_connection_is_critical_with_the_reason() -> None:
    result = run({"type": "http", "url": f"http://127.0.0.1:{closed_port()}/health"})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("connection refused")


def test_a_server_that_never_answers_is_bounded_by_the_timeout() -> None:
    with silent_port() as port:
        result = run({"type": "http", "url": f"http://127.0.0.1:{port}/", "timeout": "1s"})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("timed out after 1 s for a response from 127.0.0.1:")
    assert 0.9 < result.duration < 3


def test_dns_failure_is_named() -> None:
    result = run({"type": "http", "url": "http://no-such-host.invalid/health"})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("DNS failure: cannot resolve no-such-host.invalid")


def test_tls_is_verified_by_default(tls_app: TlsApp) -> None:
    untrusted = run({"type": "http", "url": tls_app.server.url()})
    assert untrusted.status is Status.CRITICAL
    assert "certificate verify failed" in untrusted.message
    url = tls_app.server.url(host="localhost")
    trusted = run({"type": "http", "url": url, "ca_file": str(tls_app.ca_file)})
    assert trusted.status is Status.OK
    assert trusted.details["timings_ms"]["tls"] > 0
    unverified = run({"type": "http", "url": tls_app.server.url(), "verify_tls": False})
    assert unverified.status is Status.OK


def test_tls_hostname_mismatch_is_critical(tls_app: TlsApp) -> None:
    url = tls_app.server.url(host="127.0.0.1")  # the certificate names localhost only
    result = run({"type": "http", "url": url, "ca_file": str(tls_app.ca_file)})
    assert result.status is Status.CRITICAL
    assert "certificate verify failed" in result.message
    assert "mismatch" in result.message.lower()
