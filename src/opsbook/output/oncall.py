"""Who is on call, shifts and overrides: JSON (stable shapes) and lines for people."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from opsbook.timefmt import human, iso

if TYPE_CHECKING:
    from opsbook.config.paging import PersonConfig
    from opsbook.paging.schedule import Override, Shift


def now_json(s: Shift, people: Mapping[str, PersonConfig]) -> dict[str, Any]:
    """A shift in force now, with how to reach its person."""
    person = people.get(s.person) if s.person else None
    return {
        "schedule": s.schedule,
        "layer": s.layer,
        "person": s.person,
        "from": iso(s.start) if s.person else None,
        "until": iso(s.end) if s.person else None,
        "override": s.override,
        "email": person.email if person else None,
        "phone": person.phone if person else None,
    }


def now_line(s: Shift, tz: tzinfo) -> str:
    label = s.schedule if s.layer == s.schedule else f"{s.schedule}/{s.layer}"
    if s.person is None:
        return f"{label}: nobody (outside the layer's hours)"
    extra = f" (override #{s.override})" if s.override else ""
    return f"{label}: {s.person}{extra}, since {human(s.start, tz)}, until {human(s.end, tz)}"


def shift_json(s: Shift) -> dict[str, Any]:
    return {
        "schedule": s.schedule,
        "layer": s.layer,
        "person": s.person,
        "from": iso(s.start),
        "until": iso(s.end),
        "override": s.override,
    }


def override_json(o: Override) -> dict[str, Any]:
    return {
        "id": o.id,
        "schedule": o.schedule,
        "layer": o.layer,
        "person": o.person,
        "from": iso(o.start),
        "until": iso(o.end),
    }


def override_line(o: Override, tz: tzinfo) -> str:
    return f"#{o.id} {o.schedule}: {o.person}, {human(o.start, tz)} → {human(o.end, tz)}"
