"""Who is on call: rotations resolved on the wall clock of the schedule's time zone.

A layer's shifts start at its handoff time (say Monday 09:00 Europe/Paris) and repeat every
period in *calendar* days, so the handoff stays at 09:00 local across DST changes; the same
config and time always give the same person. Restrictions (business hours) leave a layer
empty outside them; overrides (stored) replace the rotation's person for a span.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsbook.config.paging import WEEKDAYS, LayerConfig, ScheduleConfig, parse_handoff

DEFAULT_START = date(2026, 1, 5)  # a Monday


@dataclass(frozen=True)
class Override:
    id: int
    schedule: str
    layer: str | None  # None: the schedule's first layer
    person: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    schedule: str
    layer: str
    person: str | None  # None: nobody (outside the layer's restrictions)
    start: datetime  # UTC
    end: datetime
    override: int | None = None  # the override's id, when one applies


@dataclass(frozen=True)
class Layer:
    schedule: str
    name: str
    members: tuple[str, ...]
    period_days: int
    first: datetime  # naive local wall-clock time of the first handoff
    tz: ZoneInfo
    restrictions: tuple[tuple[frozenset[int], time, time | None], ...]  # days, from, to

    def _shift_start(self, k: int) -> datetime:
        """The k-th handoff, as an aware local datetime (DST resolved by zoneinfo)."""
        return (self.first + timedelta(days=k * self.period_days)).replace(tzinfo=self.tz)

    def index_at(self, at: datetime) -> int:
        local = at.astimezone(self.tz).replace(tzinfo=None)
        elapsed = (local - self.first).total_seconds() / 86400
        k = math.floor(elapsed / self.period_days)
        # Around a DST change, the wall-clock arithmetic can be an hour off: settle on the
        # shift whose real [start, end) holds `at`.
        while self._shift_start(k) > at:
            k -= 1
        while self._shift_start(k + 1) <= at:
            k += 1
        return k

    def rotation_shift(self, at: datetime) -> Shift:
        k = self.index_at(at)
        person = self.members[k % len(self.members)]
        start = self._shift_start(k).astimezone(UTC)
        end = self._shift_start(k + 1).astimezone(UTC)
        return Shift(self.schedule, self.name, person, start, end)

    def on_duty(self, at: datetime) -> bool:
        if not self.restrictions:
            return True
        local = at.astimezone(self.tz)
        for days, start, end in self.restrictions:
            if (
                local.weekday() in days
                and start <= local.time()
                and (end is None or local.time() < end)
            ):
                return True
        return False


def layers_of(name: str, schedule: ScheduleConfig, default_tz: str | None) -> list[Layer]:
    zone = schedule.timezone or default_tz or "UTC"
    out = []
    if schedule.members:
        out.append(_layer(name, name, schedule, zone))
    for layer_name, layer in schedule.layers.items():
        out.append(_layer(name, layer_name, layer, layer.timezone or zone))
    return out


def _layer(schedule: str, name: str, cfg: LayerConfig | ScheduleConfig, zone: str) -> Layer:
    weekday, hour, minute = parse_handoff(cfg.handoff)
    start = cfg.start or DEFAULT_START
    period = {"daily": 1, "weekly": 7}.get(cfg.rotation) or int((cfg.every or 86400) // 86400)
    first_day = start
    if weekday is not None:  # the first handoff on that weekday, on or after start
        first_day = start + timedelta(days=(weekday - start.weekday()) % 7)
    first = datetime.combine(first_day, time(hour, minute))
    restrictions = tuple(
        (
            frozenset(WEEKDAYS.index(d) for d in r.days),
            _hhmm(r.from_),
            None if r.to == "24:00" else _hhmm(r.to),
        )
        for r in cfg.restrictions
    )
    return Layer(schedule, name, tuple(cfg.members), period, first, ZoneInfo(zone), restrictions)


def _hhmm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def on_call(layer: Layer, at: datetime, overrides: Sequence[Override] = ()) -> Shift:
    """Who covers ``layer`` at ``at`` (an override first, then the rotation)."""
    first_layer = layer.name == layer.schedule
    for o in overrides:
        applies = o.schedule == layer.schedule and (
            o.layer == layer.name or (o.layer is None and first_layer)
        )
        if applies and o.start <= at < o.end:
            return Shift(layer.schedule, layer.name, o.person, o.start, o.end, o.id)
    shift = layer.rotation_shift(at)
    if not layer.on_duty(at):
        return Shift(layer.schedule, layer.name, None, at, at, None)
    return shift


def shifts(
    layer: Layer, start: datetime, end: datetime, overrides: Sequence[Override] = ()
) -> Iterator[Shift]:
    """Consecutive coverage of [start, end): rotation shifts cut by overrides and
    restrictions (restricted spans are left out)."""
    at = start
    step = timedelta(minutes=15)  # restrictions and overrides are checked at this grain
    current: Shift | None = None
    while at < end:
        s = on_call(layer, at, overrides)
        key = (s.person, s.override, layer.index_at(at))
        if (
            current is None
            or (current.person, current.override, layer.index_at(current.start)) != key
        ):
            if current is not None and current.person is not None:
                yield Shift(
                    current.schedule,
                    current.layer,
                    current.person,
                    current.start,
                    at,
                    current.override,
                )
            current = Shift(layer.schedule, layer.name, s.person, at, at, s.override)
        nxt = min(layer.rotation_shift(at).end, at + step, end)
        for o in overrides:
            for edge in (o.start, o.end):
                if at < edge < nxt:
                    nxt = edge
        at = nxt
    if current is not None and current.person is not None:
        yield Shift(
            current.schedule, current.layer, current.person, current.start, end, current.override
        )
