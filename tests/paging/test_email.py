"""Email over SMTP with STARTTLS and AUTH, against aiosmtpd with a certificate made here."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from opsbook import aio
from opsbook.config.model import validate
from opsbook.paging.channels import email
from opsbook.paging.message import trial_message
from tests.support import certs
from tests.support.servers import free_port


class Mailbox:
    def __init__(self) -> None:
        self.got: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got.append(envelope.content)
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"opsbook",
        b"smtp-pass-123",
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def relay(tmp_path: Path) -> Any:
    from aiosmtpd.controller import Controller

    ca = certs.issue("relay CA", days=365, ca=True)
    leaf = certs.issue("127.0.0.1", days=90, issuer=ca, sans=("127.0.0.1",))
    (tmp_path / "cert.pem").write_bytes(leaf.pem())
    (tmp_path / "key.pem").write_bytes(leaf.key_pem())
    certs.write(tmp_path / "ca.pem", ca)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=authenticator,
                            auth_require_tls=True, server_hostname="127.0.0.1",
                            auth_exclude_mechanism=["LOGIN"])  # fmt: skip
    controller.start()
    yield port, tmp_path / "ca.pem", box
    controller.stop()


def channel(port: int, ca: Path, password: str) -> Any:
    config, problems = validate({"channels": {"mail": {
        "type": "email", "host": "127.0.0.1", "port": port, "starttls": True,
        "username": "opsbook", "password": password, "from": "ops@example.com", "ca_file": str(ca),
    }}})  # fmt: skip
    assert config is not None, problems
    return config.paging.channels["mail"]


def test_starttls_and_auth_deliver_plain_and_html(relay: Any) -> None:
    port, ca, box = relay
    message = trial_message("mail", datetime.now(UTC))
    outcome = aio.run(email.send(channel(port, ca, "smtp-pass-123"), "alice@example.com", message))
    assert outcome.ok, outcome.detail
    [raw] = box.got
    assert b"Subject: [opsbook] test message to mail" in raw
    assert b"Content-Type: text/plain" in raw and b"Content-Type: text/html" in raw


def test_a_wrong_password_is_a_permanent_failure(relay: Any) -> None:
    port, ca, box = relay
    message = trial_message("mail", datetime.now(UTC))
    outcome = aio.run(email.send(channel(port, ca, "wrong"), "alice@example.com", message))
    assert not outcome.ok and outcome.permanent
    assert "authentication failed" in outcome.detail
    assert box.got == []


def test_a_relay_that_is_down_is_retried(tmp_path: Path) -> None:
    message = trial_message("mail", datetime.now(UTC))
    outcome = aio.run(email.send(channel(free_port(), tmp_path / "none.pem", "x"),
                                 "alice@example.com", message))  # fmt: skip
    assert not outcome.ok and not outcome.permanent


def test_a_multi_line_subject_is_sent_on_one_line_never_raised() -> None:
    """Alertmanager summaries are often several lines; a newline in a header must neither
    raise (it once stopped all paging) nor inject a header."""
    from opsbook.clients import smtp
    from tests.support.receivers import SmtpReceiver

    receiver = SmtpReceiver()
    try:
        server = smtp.Server("127.0.0.1", receiver.port, 5.0, starttls=False)
        subject = "SEV-1 db: disk full\r\nBcc: attacker@example.com\n\tsecond line\x00"
        smtp.send(server, smtp.Mail("ops@example.com", "alice@example.com", subject, "body"))
        [got] = receiver.to("alice@example.com")
        assert got["Subject"] == "SEV-1 db: disk full Bcc: attacker@example.com second line"
        assert got["Bcc"] is None
    finally:
        receiver.stop()
