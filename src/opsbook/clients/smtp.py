"""Mail over SMTP (STARTTLS, auth) with smtplib: the one place opsbook sends mail and the one
place smtplib's errors become ours.

A failure is a ``DeliveryError`` that says whether trying again could help: a refused
recipient, failed authentication or a 5xx answer is permanent; a network error or a 4xx
answer is worth a retry. Header values are made single-line here (an alert summary is often
several lines, and a newline in a header is both an error and an injection).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from opsbook.errors import DeliveryError


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    timeout: float
    starttls: bool = True
    ca_file: str | None = None
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Mail:
    sender: str
    to: str
    subject: str
    text: str
    html: str | None = None
    key: str | None = None  # the outbox's idempotency key: a redelivery carries the same one


def header_value(text: str, limit: int = 900) -> str:
    """One line, control characters out, within SMTP's line length (RFC 5322 allows 998)."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def compose(mail: Mail) -> EmailMessage:
    message = EmailMessage()
    try:
        message["From"] = header_value(mail.sender)
        message["To"] = header_value(mail.to)
        message["Subject"] = header_value(mail.subject)
    except (ValueError, IndexError) as exc:  # an address the email package cannot parse
        raise DeliveryError(f"cannot write the mail headers: {exc}", permanent=True) from None
    message["Message-ID"] = make_msgid(domain="opsbook")
    if mail.key:
        message["X-Opsbook-Delivery"] = header_value(mail.key)
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


def send(server: Server, mail: Mail) -> str:
    """Blocking (run it in a thread); returns who accepted it."""
    message = compose(mail)
    try:
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=server.ca_file))
            if server.username and server.password:
                smtp.login(server.username, server.password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = next(iter(exc.recipients.values()), "")
        raise DeliveryError(f"recipient refused: {refused!r}", permanent=True) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"SMTP authentication failed ({exc.smtp_code})", permanent=True
        ) from None
    except smtplib.SMTPResponseException as exc:
        said = exc.smtp_error
        text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
        raise DeliveryError(
            f"SMTP {exc.smtp_code}: {text[:200]}", permanent=500 <= exc.smtp_code < 600
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:300], permanent=False) from None
    return f"{server.host}:{server.port}"
