"""Who is on call, shifts and overrides: JSON (stable shapes) and lines for people."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from opsbook.paging.coverage import PAGED, Coverage
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


SHOWN_WINDOWS = 6


def coverage_json(cov: Coverage, strict: bool) -> dict[str, Any]:
    return {
        "levels": cov.levels,
        "status": {0: "covered", 1: "warning", 3: "error"}[cov.worst(strict)],
        "holes": [
            {"severities": [f"SEV-{s}" for s in PAGED], "level": h.level, "name": h.name,
             "from": iso(h.start), "until": iso(h.end), "why": h.why,
             "error": h.error or strict}
            for h in cov.holes
        ],
        "unreachable": list(cov.unreachable),
    }  # fmt: skip


def coverage_lines(cov: Coverage, tz: tzinfo, days: int) -> list[str]:
    if not cov.levels:
        return ["no escalation: and no schedules: nobody is ever paged"]
    if not cov.holes and not cov.unreachable:
        return [f"every level of the escalation reaches someone, every hour of {days} days"]
    lines = []
    shown: dict[int, int] = {}
    for h in cov.holes:
        shown[h.level] = shown.get(h.level, 0) + 1
        if shown[h.level] > SHOWN_WINDOWS:
            continue
        mark = "ERROR" if h.error else "warning"
        lines.append(
            f"{mark}: SEV-1..3 level {h.level} ({h.name}), {_when(h.start, tz)} to "
            f"{_when(h.end, tz)} {getattr(tz, 'key', tz)}: {h.why}"
        )
    for level, count in shown.items():
        if count > SHOWN_WINDOWS:
            lines.append(f"  … and {count - SHOWN_WINDOWS} more windows at level {level} "
                         "(--format json lists them all)")  # fmt: skip
    lines += [f"warning: {why}" for why in cov.unreachable]
    return lines


def _when(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")


def override_line(o: Override, tz: tzinfo) -> str:
    return f"#{o.id} {o.schedule}: {o.person}, {human(o.start, tz)} → {human(o.end, tz)}"
