"""What a notification says. Every page carries the incident ID, severity, title, what
fired, how long the response target leaves, who is on call, and how to acknowledge (a command,
and a link to the daemon's /ack/<token> page)."""

from __future__ import annotations

import enum
import html
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from opsbook.incidents.model import Incident, severity_label
from opsbook.units import format_duration

# Where the acknowledgement link's token goes. The outbox stores this, never a token: the
# deliverer issues the token (stored hashed) when it sends, and writes it in only then.
ACK_TOKEN = "{ack-token}"  # noqa: S105 - a placeholder, not a secret


class Kind(enum.StrEnum):
    PAGE = "page"  # wake someone up
    UPDATE = "update"  # tell a stakeholder group (the communication rule)
    ACK = "ack"  # it has been acknowledged
    RESOLVE = "resolve"
    DIGEST = "digest"  # SEV-4: a daily summary, never a page
    REPORT = "report"  # a calendar job's report (jobs: notify:), never a page
    TEST = "test"


@dataclass(frozen=True)
class Message:
    kind: Kind
    subject: str
    text: str
    html: str
    incident_id: str | None = None
    severity: str | None = None
    title: str | None = None
    fired: str | None = None
    response_left_s: float | None = None
    on_call: str | None = None
    ack_command: str | None = None
    ack_url: str | None = None
    level: int | None = None

    @property
    def wants_ack_token(self) -> bool:
        return self.ack_url is not None and ACK_TOKEN in self.ack_url

    def with_ack_token(self, token: str) -> Message:
        """The message as sent: the link's placeholder replaced by a real token."""
        return replace(
            self,
            ack_url=(self.ack_url or "").replace(ACK_TOKEN, token),
            text=self.text.replace(ACK_TOKEN, token),
            html=self.html.replace(ACK_TOKEN, token),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        return cls(**{**data, "kind": Kind(data["kind"])})


def for_incident(
    kind: Kind,
    incident: Incident,
    now: datetime,
    *,
    fired: str,
    on_call: str | None,
    ack_url: str | None,
    level: int | None = None,
    note: str = "",
    suggest: list[str] | None = None,
) -> Message:
    sev = severity_label(incident.severity)
    left = (incident.response_due_at - now).total_seconds()
    ack_command = f"opsbook incident ack {incident.id}"
    verb = {
        Kind.PAGE: "",
        Kind.UPDATE: "",
        Kind.ACK: "acknowledged: ",
        Kind.RESOLVE: "resolved: ",
    }.get(kind, "")
    subject = f"[{sev}] {incident.id} {verb}{incident.title}"
    if left >= 0:
        clock = f"respond within {format_duration(left)} (by {incident.response_due_at:%H:%M} UTC)"
    else:
        clock = f"response target missed by {format_duration(-left)}"
    lines = [subject, ""]
    if note:
        lines += [note, ""]
    lines += [f"What fired: {fired}", f"Severity: {sev}"]
    if kind in (Kind.PAGE, Kind.UPDATE) and incident.acknowledged_at is None:
        lines.append(f"Response: {clock}")
    lines.append(f"On call: {on_call or 'nobody resolved'}")
    if kind in (Kind.PAGE, Kind.UPDATE) and incident.acknowledged_at is None:
        lines.append(f"Acknowledge: {ack_command}")
        if ack_url:
            lines.append(f"   or open {ack_url}")
    if suggest and kind is Kind.PAGE:
        lines += ["", "Suggested actions (they ask first, and go on the timeline):"]
        lines += [f"  {line}" for line in suggest]
    text = "\n".join(lines) + "\n"
    return Message(
        kind=kind,
        subject=subject,
        text=text,
        html=_html(text, ack_url),
        incident_id=incident.id,
        severity=sev,
        title=incident.title,
        fired=fired,
        response_left_s=round(left, 1),
        on_call=on_call,
        ack_command=ack_command,
        ack_url=ack_url,
        level=level,
    )


def _html(text: str, ack_url: str | None) -> str:
    body = html.escape(text).replace("\n", "<br>\n")
    if ack_url:
        body = body.replace(
            html.escape(ack_url), f'<a href="{html.escape(ack_url)}">{html.escape(ack_url)}</a>'
        )
    return f'<html><body style="font-family:sans-serif">{body}</body></html>'


def trial_message(channel: str, now: datetime) -> Message:
    subject = f"[opsbook] test message to {channel}"
    text = f"{subject}\n\nSent {now:%Y-%m-%d %H:%M:%S} UTC by `opsbook notify test {channel}`.\n"
    return Message(kind=Kind.TEST, subject=subject, text=text, html=_html(text, None))


def report_message(subject: str, text: str) -> Message:
    return Message(kind=Kind.REPORT, subject=subject, text=text, html=_html(text, None))
