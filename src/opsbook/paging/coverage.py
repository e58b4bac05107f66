"""Does every level of the escalation reach someone, at every hour of the coming weeks?

Checked before it is needed (``opsbook config validate``, ``opsbook oncall coverage``,
``opsbook serve`` at start), so a hole is found on a Tuesday afternoon, not at 3 a.m.: a
schedule with nobody in its off-hours, a person whose only contact point has no channel.
Time is walked in 15-minute steps (the grain of restrictions and overrides); steps with the
same trouble are merged into one window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsbook.config.paging import LevelConfig
from opsbook.config.paging_section import Paging
from opsbook.incidents.severity import SeverityPolicy
from opsbook.paging.schedule import Layer, Override, layers_of, on_call
from opsbook.paging.targets import layers_named, reachability

STEP = timedelta(minutes=15)
PAGED = (1, 2, 3)  # SEV-4 goes to the daily digest, never a page


@dataclass(frozen=True)
class Hole:
    level: int  # 1-based
    name: str  # "on-call engineer", or "level 2"
    start: datetime
    end: datetime
    why: str

    @property
    def error(self) -> bool:
        """Level 1 reaching nobody means nobody at all is woken."""
        return self.level == 1


@dataclass(frozen=True)
class Coverage:
    holes: tuple[Hole, ...]
    unreachable: tuple[str, ...]  # people named somewhere whom no channel reaches (warnings)
    levels: int

    def worst(self, strict: bool) -> int:
        """0 covered, 1 holes only past level 1, 3 a hole at level 1 (or any, when strict)."""
        if any(h.error for h in self.holes) or (strict and self.holes):
            return 3
        return 1 if self.holes or self.unreachable else 0


def ladder(paging: Paging) -> tuple[LevelConfig, ...]:
    """The configured escalation, or by default every schedule at level 1 (as the pager)."""
    if paging.escalation:
        return paging.escalation
    if paging.schedules:
        return (LevelConfig(who=list(paging.schedules), name="on call"),)
    return ()


def wait_after(
    levels: Sequence[LevelConfig], policy: SeverityPolicy, level: int, severity: int
) -> float:
    """Seconds to wait after paging ``level`` (1-based) before the next."""
    configured = levels[level - 1].after if level <= len(levels) else None
    if configured is not None:
        return float(configured)
    # Derived from the response target: the whole ladder is walked within it
    # (SEV-1, 4 levels: 5 minutes a level, management at 5, the last level at 15).
    target = policy.get(severity).response
    return target / max(len(levels) - 1, 1) if len(levels) > 1 else target


def reached_after(paging: Paging, policy: SeverityPolicy, severity: int) -> list[float]:
    """Seconds after an incident opens at which each level is paged, if nobody acknowledges."""
    levels = ladder(paging)
    times, at = [], 0.0
    for level in range(1, len(levels) + 1):
        times.append(at)
        at += wait_after(levels, policy, level, severity)
    return times


def check(
    paging: Paging,
    timezone: str | None,
    start: datetime,
    days: int = 28,
    overrides: Sequence[Override] = (),
) -> Coverage:
    layers = {n: layers_of(n, s, timezone) for n, s in paging.schedules.items()}
    levels = ladder(paging)
    holes: list[Hole] = []
    for index, level in enumerate(levels, start=1):
        name = level.name or f"level {index}"
        current: tuple[str, datetime] | None = None
        # On the quarter hour, where handoffs and restrictions fall, so windows read 09:00.
        at = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
        end = start + timedelta(days=days)
        while at < end:
            why = _hole(level.who, paging, layers, overrides, at)
            if current is not None and why != current[0]:
                holes.append(Hole(index, name, current[1], at, current[0]))
                current = None
            if why is not None and current is None:
                current = (why, at)
            at += STEP
        if current is not None:
            holes.append(Hole(index, name, current[1], end, current[0]))
    named = _people_named(paging, levels)
    said = " ".join(h.why for h in holes)
    unreachable = tuple(
        w for p in named for w in reachability(p, paging)[1] if w not in said
    )  # a person no channel reaches, even where someone else covers for them
    return Coverage(tuple(holes), unreachable, len(levels))


def _hole(
    names: Sequence[str],
    paging: Paging,
    layers: dict[str, list[Layer]],
    overrides: Sequence[Override],
    at: datetime,
) -> str | None:
    """None when someone can be reached at ``at``; else why nobody can."""
    reasons: list[str] = []
    for who in names:
        chosen = layers_named(who, layers)
        if chosen is not None:
            for layer in chosen:
                person = on_call(layer, at, overrides).person
                if person is None:
                    reasons.append(f"schedule {who!r} has nobody on duty (its restrictions)")
                elif reachability(person, paging)[0]:
                    return None
                else:
                    reasons += reachability(person, paging)[1]
        elif who in paging.people:
            routes, why = reachability(who, paging)
            if routes:
                return None
            reasons += why
        elif who in paging.stakeholders or who == "all":
            groups = list(paging.stakeholders) if who == "all" else [who]
            for group in groups:
                for member in paging.stakeholders[group]:
                    if member.startswith("channel:"):
                        return None
                    routes, why = reachability(member, paging)
                    if routes:
                        return None
                    reasons += why
    return "; ".join(dict.fromkeys(reasons)) or "nobody is named"


def _people_named(paging: Paging, levels: Sequence[LevelConfig]) -> list[str]:
    named: list[str] = []
    for schedule in paging.schedules.values():
        named += schedule.members
        for layer in schedule.layers.values():
            named += layer.members
    for level in levels:
        for who in level.who:
            if who in paging.people:
                named.append(who)
            for member in paging.stakeholders.get(who, []):
                if not member.startswith("channel:"):
                    named.append(member)
    return list(dict.fromkeys(named))
