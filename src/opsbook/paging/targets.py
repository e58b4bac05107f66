"""From names in the config (schedules, people, stakeholder groups, channels) to deliveries:
(channel, recipient) pairs, with the people behind them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from opsbook.config.paging import EmailChannel
from opsbook.config.paging_section import Paging
from opsbook.paging.channels import PERSON_SLACK
from opsbook.paging.schedule import Layer, Override, on_call


@dataclass(frozen=True)
class Route:
    channel: str  # a channel name, or PERSON_SLACK
    recipient: str  # a person's key, or the channel name
    person: str | None  # the person reached, for ack links and the timeline


def person_routes(name: str, paging: Paging) -> list[Route]:
    return reachability(name, paging)[0]


def reachability(name: str, paging: Paging) -> tuple[list[Route], list[str]]:
    """The routes that can reach a person (in their preferred order), and why any contact
    point they have cannot be used: the two things a page and a coverage report need."""
    person = paging.people.get(name)
    if person is None:
        return [], [f"{name}: not in people:"]
    found: dict[str, Route] = {}
    why: list[str] = []
    email = next((n for n, c in paging.channels.items() if isinstance(c, EmailChannel)), None)
    if person.email and email:
        found["email"] = Route(email, name, name)
    elif person.email:
        why.append(f"{name}: email address but no email channel")
    if person.slack:
        found["slack"] = Route(PERSON_SLACK, name, name)
    if person.webhook and person.webhook in paging.channels:
        found["webhook"] = Route(person.webhook, name, name)
    if person.pagerduty and person.pagerduty in paging.channels:
        found["pagerduty"] = Route(person.pagerduty, name, name)
    if not found and not why:
        why.append(f"{name}: no contact point (email, slack, webhook or pagerduty)")
    order = [k for k in person.prefer if k in found] + [k for k in found if k not in person.prefer]
    return [found[k] for k in order], why


def layers_named(who: str, layers: dict[str, list[Layer]]) -> list[Layer] | None:
    """The layers ``schedule`` or ``schedule/layer`` names (a schedule alone: its first);
    None when ``who`` is not a schedule."""
    schedule, _, layer_name = who.partition("/")
    if schedule not in layers:
        return None
    wanted = layer_name or layers[schedule][0].name
    return [layer for layer in layers[schedule] if layer.name == wanted]


@dataclass(frozen=True)
class Audience:
    people: tuple[str, ...]  # in the order named
    channels: tuple[str, ...]
    labels: tuple[str, ...]  # "alice (primary)" for the timeline


def resolve(
    names: Sequence[str],
    paging: Paging,
    layers: dict[str, list[Layer]],
    overrides: Sequence[Override],
    now: datetime,
) -> Audience:
    people: list[str] = []
    channels: list[str] = []
    labels: list[str] = []

    def add_person(person: str, label: str) -> None:
        if person not in people:
            people.append(person)
            labels.append(label)

    for who in names:
        chosen = layers_named(who, layers)
        if chosen is not None:
            for layer in chosen:
                shift = on_call(layer, now, overrides)
                if shift.person:
                    add_person(shift.person, f"{shift.person} (on call for {who})")
        elif who in paging.people:
            add_person(who, who)
        elif who in paging.stakeholders or who == "all":
            groups = list(paging.stakeholders) if who == "all" else [who]
            for group in groups:
                for member in paging.stakeholders[group]:
                    if member.startswith("channel:"):
                        if member[8:] not in channels:
                            channels.append(member[8:])
                    else:
                        add_person(member, f"{member} ({group})")
    return Audience(tuple(people), tuple(channels), tuple(labels))
