"""Slack incoming webhooks."""

from __future__ import annotations

import httpx

from opsbook.paging.channels import Outcome, http_outcome
from opsbook.paging.message import Message


async def send(http: httpx.AsyncClient, url: str, message: Message) -> Outcome:
    text = message.text
    if message.ack_url:
        text = text.replace(message.ack_url, f"<{message.ack_url}|acknowledge>")
    body = {"text": text, "unfurl_links": False}
    response = await http.post(url, json=body)
    return http_outcome(response.status_code, response.text)
