"""PagerDuty Events API v2: trigger on a page, acknowledge and resolve as opsbook does, all
with the incident ID as dedup_key, so PagerDuty's incident follows opsbook's."""

from __future__ import annotations

from opsbook.clients.webhooks import Session, post
from opsbook.config.paging import PagerDutyChannel
from opsbook.paging.channels import Outcome, classified, http_outcome
from opsbook.paging.message import Kind, Message

_SEVERITY = {"SEV-1": "critical", "SEV-2": "error", "SEV-3": "warning", "SEV-4": "info"}


@classified
async def send(http: Session, channel: PagerDutyChannel, message: Message) -> Outcome:
    action = {Kind.ACK: "acknowledge", Kind.RESOLVE: "resolve"}.get(message.kind, "trigger")
    event: dict[str, object] = {
        "routing_key": channel.routing_key,
        "event_action": action,
        "dedup_key": message.incident_id or message.subject,
    }
    if action == "trigger":
        event["payload"] = {
            "summary": message.subject[:1024],
            "source": "opsbook",
            "severity": _SEVERITY.get(message.severity or "", "error"),
            "custom_details": {
                "fired": message.fired,
                "on_call": message.on_call,
                "acknowledge": message.ack_command,
            },
        }
        if message.ack_url:
            event["links"] = [{"href": message.ack_url, "text": "Acknowledge in opsbook"}]
    return http_outcome(await post(http, channel.url, json=event))
