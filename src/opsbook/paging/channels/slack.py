"""Slack incoming webhooks."""

from __future__ import annotations

from opsbook.clients.webhooks import Session, post
from opsbook.paging.channels import Outcome, classified, http_outcome
from opsbook.paging.message import Message


@classified
async def send(http: Session, url: str, message: Message) -> Outcome:
    text = message.text
    if message.ack_url:
        text = text.replace(message.ack_url, f"<{message.ack_url}|acknowledge>")
    body = {"text": text, "unfurl_links": False}
    return http_outcome(await post(http, url, json=body))
