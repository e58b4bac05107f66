"""People, on-call schedules, stakeholder groups, the escalation path and notification
channels: the parts of opsbook.yaml that decide who is woken, and how."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

import msgspec

from opsbook.config.types import Duration

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_HANDOFF = re.compile(
    r"^(?:(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\s+)?"
    r"([01]?\d|2[0-3]):([0-5]\d)$"
)
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


def check_zone(name: str | None, key: str = "timezone") -> None:
    if name is None:
        return
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{key}: unknown time zone {name!r}; expected e.g. Europe/Paris") from None


class PersonConfig(_Strict, frozen=True):
    name: str | None = None  # how messages address them (default: the key)
    email: str | None = None
    slack: str | None = None  # an incoming-webhook URL that reaches them
    phone: str | None = None  # shown in messages and `opsbook oncall`
    pagerduty: str | None = None  # a channel of type pagerduty that pages them
    webhook: str | None = None  # a channel of type webhook that reaches them (an SMS gateway…)
    # The order their contact points are tried in; by default every one at once.
    prefer: list[Literal["email", "slack", "webhook", "pagerduty"]] = []
    timezone: str | None = None
    # What they may do: viewer (look), responder (act on incidents, run actions), admin.
    role: Literal["viewer", "responder", "admin"] = "responder"

    def __post_init__(self) -> None:
        check_zone(self.timezone)
        if self.email is not None and "@" not in self.email:
            raise ValueError(
                f"email: expected an address such as alice@example.com, got {self.email!r}"
            )
        if self.slack is not None and not self.slack.startswith(("https://", "http://")):
            raise ValueError(
                "slack: expected a Slack incoming-webhook URL (https://hooks.slack.com/…)"
            )


class Restriction(_Strict, frozen=True):
    """When a layer is on duty at all, e.g. business hours only."""

    days: list[Weekday] = msgspec.field(default_factory=lambda: list(WEEKDAYS))
    from_: str = msgspec.field(default="00:00", name="from")
    to: str = "24:00"

    def __post_init__(self) -> None:
        if not _HHMM.match(self.from_):
            raise ValueError(f"from: expected a time such as 09:00, got {self.from_!r}")
        if self.to != "24:00" and not _HHMM.match(self.to):
            raise ValueError(f"to: expected a time such as 18:00, got {self.to!r}")


class LayerConfig(_Strict, frozen=True):
    members: list[str]
    rotation: Literal["daily", "weekly", "custom"] = "weekly"
    every: Duration | None = None  # custom rotations: whole days, e.g. 3d
    handoff: str = "monday 09:00"  # weekly: "monday 09:00"; daily / custom: "09:00"
    start: date | None = None  # the first shift's date (default: 2026-01-05, a Monday)
    timezone: str | None = None
    restrictions: list[Restriction] = []

    def __post_init__(self) -> None:
        _check_layer(self)


class ScheduleConfig(_Strict, frozen=True):
    """One rotation (members at the top level) and/or named layers (primary, secondary…)."""

    timezone: str | None = None
    members: list[str] = []
    rotation: Literal["daily", "weekly", "custom"] = "weekly"
    every: Duration | None = None
    handoff: str = "monday 09:00"
    start: date | None = None
    restrictions: list[Restriction] = []
    layers: dict[str, LayerConfig] = {}

    def __post_init__(self) -> None:
        check_zone(self.timezone)
        if not self.members and not self.layers:
            raise ValueError("expected members: [..] or layers: {primary: {members: [..]}, …}")
        if self.members:
            _check_layer(self)


def _check_layer(layer: LayerConfig | ScheduleConfig) -> None:
    check_zone(layer.timezone)
    if not layer.members:
        raise ValueError("members: expected at least one person")
    match = _HANDOFF.match(layer.handoff.strip().lower())
    if not match:
        raise ValueError(
            f"handoff: expected 'monday 09:00' (weekly) or '09:00', got {layer.handoff!r}"
        )
    if layer.rotation == "weekly" and not match.group(1):
        raise ValueError("handoff: a weekly rotation hands off on a day: 'monday 09:00'")
    if layer.rotation == "custom":
        if layer.every is None or layer.every < 86400 or layer.every % 86400:
            raise ValueError("every: a custom rotation needs whole days, such as every: 3d")
    elif layer.every is not None:
        raise ValueError("every: only for rotation: custom")


def parse_handoff(text: str) -> tuple[int | None, int, int]:
    """(weekday or None, hour, minute)."""
    match = _HANDOFF.match(text.strip().lower())
    assert match is not None
    day = WEEKDAYS.index(match.group(1)) if match.group(1) else None
    return day, int(match.group(2)), int(match.group(3))


class LevelConfig(_Strict, frozen=True):
    """One rung of the escalation path."""

    who: list[str]  # schedule names (schedule/layer), people, or stakeholder groups
    after: Duration | None = None  # wait before the next level (default: from the severity)
    name: str | None = None  # "Engineering manager"


class PagingConfig(_Strict, frozen=True):
    public_url: str | None = None  # where ack links point; default: http://<server.listen>
    repeat_every: Duration = Duration(600)  # unacknowledged pages repeat…
    max_repeats: int = 2  # …this many times at the last level
    ack_link_ttl: Duration = Duration(86400)
    digest_at: str = "09:00"  # SEV-4 digest, daily, in timezone:
    strict: bool = False  # a coverage hole past level 1 is an error too, not a warning

    def __post_init__(self) -> None:
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("public_url: expected http(s)://host:port of opsbook serve")
        if not 0 <= self.max_repeats <= 20:
            raise ValueError("max_repeats: expected 0 to 20")
        if self.repeat_every < 60:
            raise ValueError("repeat_every: expected 1m or more")
        if not _HHMM.match(self.digest_at):
            raise ValueError(f"digest_at: expected a time such as 09:00, got {self.digest_at!r}")


class SlackChannel(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    kw_only=True,
    tag="slack",
    tag_field="type",
):
    webhook_url: str


class WebhookChannel(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    kw_only=True,
    tag="webhook",
    tag_field="type",
):
    url: str
    secret: str | None = None  # HMAC-SHA256 signing secret


class EmailChannel(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    kw_only=True,
    tag="email",
    tag_field="type",
):
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    from_: str = msgspec.field(name="from")
    timeout: Duration = Duration(10)
    ca_file: Path | None = None  # trust this CA for STARTTLS (an internal relay)


class PagerDutyChannel(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    kw_only=True,
    tag="pagerduty",
    tag_field="type",
):
    routing_key: str
    url: str = "https://events.pagerduty.com/v2/enqueue"


ChannelConfig = SlackChannel | WebhookChannel | EmailChannel | PagerDutyChannel

# The runbook's communication rule: who is told, per severity, by stakeholder group.
DEFAULT_COMMUNICATION = {
    1: ["all"],
    2: ["engineering", "product"],
    3: ["engineering"],
    4: ["engineering"],
}
