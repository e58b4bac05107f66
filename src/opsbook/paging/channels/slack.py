"""Slack incoming webhooks.

Slack reads ``<…>`` in message text as links and mentions (``<!channel>`` pages a whole
channel), so everything that came from outside is escaped the way Slack asks (``&``, ``<``,
``>``) before the one link of our own, the acknowledgement link, is put back.
"""

from __future__ import annotations

from opsbook.clients.webhooks import Session, post
from opsbook.paging.channels import Outcome, classified, http_outcome
from opsbook.paging.message import Message


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(message: Message) -> str:
    text = escape(message.text)
    if message.ack_url:
        text = text.replace(escape(message.ack_url), f"<{escape(message.ack_url)}|acknowledge>")
    return text


@classified
async def send(http: Session, url: str, message: Message) -> Outcome:
    body = {"text": slack_text(message), "unfurl_links": False}
    return http_outcome(await post(http, url, json=body))
