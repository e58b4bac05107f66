"""Email: the page as plain text + HTML, sent by clients/smtp.py in a worker thread."""

from __future__ import annotations

import asyncio

from opsbook.clients import smtp
from opsbook.config.paging import EmailChannel
from opsbook.paging.channels import Outcome, classified
from opsbook.paging.message import Message


def _send(channel: EmailChannel, address: str, message: Message, key: str | None) -> Outcome:
    server = smtp.Server(
        channel.host,
        channel.port,
        float(channel.timeout),
        starttls=channel.starttls,
        ca_file=str(channel.ca_file) if channel.ca_file else None,
        username=channel.username,
        password=channel.password,
    )
    mail = smtp.Mail(channel.from_, address, message.subject, message.text, message.html, key)
    return Outcome(True, detail=f"accepted by {smtp.send(server, mail)}")


@classified
async def send(
    channel: EmailChannel, address: str, message: Message, key: str | None = None
) -> Outcome:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _send, channel, address, message, key)
