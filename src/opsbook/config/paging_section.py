"""Validating the paging sections together: every name they mention must exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from opsbook.config.paging import (
    DEFAULT_COMMUNICATION,
    ChannelConfig,
    LevelConfig,
    PagerDutyChannel,
    PagingConfig,
    PersonConfig,
    ScheduleConfig,
    WebhookChannel,
)
from opsbook.config.problems import Path_, Problem, convert_section, translate
from opsbook.config.severities import SEVERITY_KEYS
from opsbook.config.types import decode_hook

CHANNEL_TYPES = ("slack", "webhook", "email", "pagerduty")
PAGING_KEYS = (
    "people",
    "schedules",
    "stakeholders",
    "escalation",
    "communication",
    "channels",
    "paging",
)


@dataclass(frozen=True)
class Paging:
    people: dict[str, PersonConfig] = field(default_factory=dict)
    schedules: dict[str, ScheduleConfig] = field(default_factory=dict)
    stakeholders: dict[str, list[str]] = field(default_factory=dict)
    escalation: tuple[LevelConfig, ...] = ()
    communication: dict[int, list[str]] = field(default_factory=dict)
    channels: dict[str, ChannelConfig] = field(default_factory=dict)
    settings: PagingConfig = field(default_factory=PagingConfig)


def _named(data: Any, key: str, model: Any, problems: list[Problem]) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(Problem((key,), f"expected a mapping of names to {key}"))
        return {}
    out = {}
    for name, spec in data.items():
        path: Path_ = (key, name)
        if key == "channels" and (
            not isinstance(spec, dict) or spec.get("type") not in CHANNEL_TYPES
        ):
            kind = spec.get("type") if isinstance(spec, dict) else None
            text = f"unknown channel type {kind!r}; expected one of: {', '.join(CHANNEL_TYPES)}"
            problems.append(Problem((*path, "type"), text))
            continue
        try:
            out[str(name)] = msgspec.convert(spec or {}, model, dec_hook=decode_hook)
        except msgspec.ValidationError as exc:
            problems.append(
                translate(str(exc), spec if isinstance(spec, dict) else {}, path, model)
            )
    return out


def validate_paging(data: dict[str, Any], problems: list[Problem]) -> Paging:
    people = _named(data.get("people"), "people", PersonConfig, problems)
    schedules = _named(data.get("schedules"), "schedules", ScheduleConfig, problems)
    channels = _named(data.get("channels"), "channels", ChannelConfig, problems)
    settings = convert_section(data.get("paging"), PagingConfig, ("paging",), problems)
    stakeholders = _stakeholders(data.get("stakeholders"), people, channels, problems)
    levels = []
    raw_levels = data.get("escalation")
    if raw_levels is not None and not isinstance(raw_levels, list):
        problems.append(Problem(("escalation",), "expected a list of levels (- who: [primary])"))
        raw_levels = []
    for index, spec in enumerate(raw_levels or []):
        level = convert_section(spec, LevelConfig, ("escalation", index), problems)
        if level is None:
            continue
        for who in level.who:
            if not _known(who, people, schedules, stakeholders):
                text = f"{who!r} is not a schedule, a person or a stakeholder group"
                problems.append(Problem(("escalation", index, "who"), text))
        levels.append(level)
    for name, schedule in schedules.items():
        members = list(schedule.members)
        for layer in schedule.layers.values():
            members += layer.members
        for member in members:
            if member not in people:
                problems.append(
                    Problem(("schedules", name, "members"), f"{member!r} is not in people:")
                )
    for name, person in people.items():
        if person.pagerduty and not isinstance(channels.get(person.pagerduty), PagerDutyChannel):
            text = f"{person.pagerduty!r} is not a channel of type pagerduty"
            problems.append(Problem(("people", name, "pagerduty"), text))
        if person.webhook and not isinstance(channels.get(person.webhook), WebhookChannel):
            text = f"{person.webhook!r} is not a channel of type webhook"
            problems.append(Problem(("people", name, "webhook"), text))
    communication = _communication(data.get("communication"), stakeholders, problems)
    return Paging(
        people=people,
        schedules=schedules,
        stakeholders=stakeholders,
        escalation=tuple(levels),
        communication=communication,
        channels=channels,
        settings=settings or PagingConfig(),
    )


def _known(
    who: str,
    people: dict[str, Any],
    schedules: dict[str, ScheduleConfig],
    groups: dict[str, list[str]],
) -> bool:
    name, _, layer = who.partition("/")
    if name in schedules:
        return not layer or layer in schedules[name].layers or (layer == name)
    return not layer and (name in people or name in groups)


def _stakeholders(
    value: Any, people: dict[str, Any], channels: dict[str, Any], problems: list[Problem]
) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(Problem(("stakeholders",), "expected groups: {engineering: [alice, bob]}"))
        return {}
    groups: dict[str, list[str]] = {}
    for group, members in value.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            problems.append(
                Problem(("stakeholders", group), "expected a list of people or channel:NAME")
            )
            continue
        for member in members:
            if member.startswith("channel:"):
                if member[8:] not in channels:
                    text = f"{member!r}: no such channel in channels:"
                    problems.append(Problem(("stakeholders", group), text))
            elif member not in people:
                problems.append(Problem(("stakeholders", group), f"{member!r} is not in people:"))
        groups[str(group)] = list(members)
    return groups


def _communication(
    value: Any, groups: dict[str, list[str]], problems: list[Problem]
) -> dict[int, list[str]]:
    # The runbook's rule names groups (engineering, product); only those this file defines are
    # kept, so the default never tells a group nobody made.
    rule = {
        level: [g for g in audience if g == "all" or g in groups]
        for level, audience in DEFAULT_COMMUNICATION.items()
    }
    if value is None:
        return rule
    if not isinstance(value, dict):
        problems.append(
            Problem(("communication",), "expected {SEV-1: [all], SEV-2: [engineering, product]}")
        )
        return rule
    for key, audience in value.items():
        level = SEVERITY_KEYS.get(str(key).upper())
        if level is None:
            problems.append(Problem(("communication", key), "expected SEV-1 … SEV-4"))
            continue
        if not isinstance(audience, list):
            problems.append(
                Problem(("communication", key), "expected a list of stakeholder groups")
            )
            continue
        for group in audience:
            if group != "all" and group not in groups:
                text = f"{group!r} is not a stakeholder group (or 'all')"
                problems.append(Problem(("communication", key), text))
        rule[level] = [str(g) for g in audience]
    return rule
