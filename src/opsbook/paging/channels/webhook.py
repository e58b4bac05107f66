"""A generic webhook anyone can receive, signed so the receiver can trust it.

POST, JSON body:

    {"delivery": "<idempotency key>", "kind": "page|update|ack|resolve|digest|report|test",
     "recipient": "alice", "incident_id": "INC-2026-11-28-1", "severity": "SEV-1",
     "title": "…", "fired": "…", "response_left_s": 812.0, "on_call": "alice",
     "ack_command": "opsbook incident ack INC-…", "ack_url": "https://…/ack/…",
     "ack_url_reason": null (or why there is no link: "a resolve needs no acknowledging"),
     "subject": "…", "text": "…"}

Headers: ``X-Opsbook-Delivery`` (the idempotency key: a redelivery carries the same one),
``X-Opsbook-Timestamp`` (Unix seconds), and with a secret ``X-Opsbook-Signature:
sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"`` with the channel's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from opsbook.clients.webhooks import Session, post
from opsbook.config.paging import WebhookChannel
from opsbook.paging.channels import Outcome, classified, http_outcome
from opsbook.paging.outbox import Item


def body_of(item: Item) -> bytes:
    m = item.message
    doc = {
        "delivery": item.key,
        "kind": m.kind.value,
        "recipient": item.recipient,
        "incident_id": m.incident_id,
        "severity": m.severity,
        "title": m.title,
        "fired": m.fired,
        "response_left_s": m.response_left_s,
        "on_call": m.on_call,
        "ack_command": m.ack_command,
        "ack_url": m.ack_url,
        "ack_url_reason": None if m.ack_url else f"a {m.kind.value} needs no acknowledging",
        "subject": m.subject,
        "text": m.text,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@classified
async def send(http: Session, channel: WebhookChannel, item: Item) -> Outcome:
    body = body_of(item)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Opsbook-Delivery": item.key,
        "X-Opsbook-Timestamp": timestamp,
    }
    if channel.secret:
        headers["X-Opsbook-Signature"] = signature(channel.secret, timestamp, body)
    return http_outcome(await post(http, channel.url, content=body, headers=headers))
