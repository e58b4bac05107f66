"""PagerDuty Events API v2: trigger on a page, acknowledge and resolve as opsbook does, all
with the incident ID as dedup_key, so PagerDuty's incident follows opsbook's."""

from __future__ import annotations

import httpx

from opsbook.config.paging import PagerDutyChannel
from opsbook.paging.channels import Outcome, http_outcome
from opsbook.paging.message import Kind, Message

_SEVERITY = {"SEV-1": "critical", "SEV-2": "error", "SEV-3": "warning", "SEV-4": "info"}


async def send(http: httpx.AsyncClient, channel: PagerDutyChannel, message: Message) -> Outcome:
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
    response = await http.post(channel.url, json=event)
    return http_outcome(response.status_code, response.text)
