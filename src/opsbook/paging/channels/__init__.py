"""Delivering one outbox item through its channel: one module per channel kind.

Outcomes are classified the same way everywhere: delivered; retryable (network errors, 429,
5xx: the outbox backs off and tries again); permanent (other 4xx, a refused address: it stops
and the timeline says so).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ParamSpec

from opsbook.errors import DeliveryError

if TYPE_CHECKING:
    from opsbook.clients.webhooks import Answer, Session
    from opsbook.config.paging_section import Paging
    from opsbook.paging.outbox import Item

P = ParamSpec("P")
PERSON_SLACK = "person-slack"  # the channel of a page to a person's own Slack webhook


@dataclass(frozen=True)
class Outcome:
    ok: bool
    permanent: bool = False
    detail: str = ""


def classified(send: Callable[P, Awaitable[Outcome]]) -> Callable[P, Awaitable[Outcome]]:
    """A channel's send, its DeliveryError (from clients/) turned into a failed Outcome."""

    @functools.wraps(send)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Outcome:
        try:
            return await send(*args, **kwargs)
        except DeliveryError as exc:
            return Outcome(False, exc.permanent, str(exc))

    return wrapper


def http_outcome(answer: Answer) -> Outcome:
    status, body = answer.status, answer.text
    if 200 <= status < 300:
        return Outcome(True, detail=f"HTTP {status}")
    detail = f"HTTP {status}" + (f": {body.strip()[:200]}" if body.strip() else "")
    return Outcome(False, permanent=400 <= status < 500 and status != 429, detail=detail)


async def deliver(item: Item, paging: Paging, http: Session) -> Outcome:
    from opsbook.config.paging import EmailChannel, PagerDutyChannel, SlackChannel, WebhookChannel
    from opsbook.paging.channels import email, pagerduty, slack, webhook

    if item.channel == PERSON_SLACK:
        person = paging.people.get(item.recipient)
        if person is None or not person.slack:
            return Outcome(False, True, f"{item.recipient} has no slack: webhook any more")
        return await slack.send(http, person.slack, item.message)
    channel = paging.channels.get(item.channel)
    if channel is None:
        return Outcome(False, True, f"no channel {item.channel!r} in opsbook.yaml any more")
    if isinstance(channel, SlackChannel):
        return await slack.send(http, channel.webhook_url, item.message)
    if isinstance(channel, WebhookChannel):
        return await webhook.send(http, channel, item)
    if isinstance(channel, PagerDutyChannel):
        return await pagerduty.send(http, channel, item.message)
    if isinstance(channel, EmailChannel):
        person = paging.people.get(item.recipient)
        address = person.email if person else None
        if not address:
            return Outcome(False, True, f"{item.recipient} has no email address")
        return await email.send(channel, address, item.message, item.key)
    return Outcome(False, True, f"channel {item.channel!r} cannot deliver")  # pragma: no cover
