"""Email over SMTP (STARTTLS, auth), plain text + HTML. smtplib runs in a worker thread."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from opsbook.config.paging import EmailChannel
from opsbook.paging.channels import Outcome
from opsbook.paging.message import Message


def _send(channel: EmailChannel, address: str, message: Message) -> Outcome:
    mail = EmailMessage()
    mail["From"] = channel.from_
    mail["To"] = address
    mail["Subject"] = message.subject
    mail["Message-ID"] = make_msgid(domain="opsbook")
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=float(channel.timeout)) as smtp:
            if channel.starttls:
                cafile = str(channel.ca_file) if channel.ca_file else None
                smtp.starttls(context=ssl.create_default_context(cafile=cafile))
            if channel.username and channel.password:
                smtp.login(channel.username, channel.password)
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(False, True, f"recipient refused: {next(iter(exc.recipients.values()))!r}")
    except smtplib.SMTPAuthenticationError as exc:
        return Outcome(False, True, f"SMTP authentication failed ({exc.smtp_code})")
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600
        said = exc.smtp_error
        text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
        return Outcome(False, permanent, f"SMTP {exc.smtp_code}: {text[:200]}")
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome(False, False, f"{type(exc).__name__}: {exc}"[:300])
    return Outcome(True, detail=f"accepted by {channel.host}:{channel.port}")


async def send(channel: EmailChannel, address: str, message: Message) -> Outcome:
    return await asyncio.get_running_loop().run_in_executor(None, _send, channel, address, message)
