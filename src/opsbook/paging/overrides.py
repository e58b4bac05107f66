"""On-call overrides: "bob covers for alice from Friday 18:00 to Monday 09:00", stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update

from opsbook.config.paging_section import Paging
from opsbook.errors import IncidentError, UsageError
from opsbook.paging.schedule import Override
from opsbook.store.tables import oncall_overrides
from opsbook.store.tx import begin, read


def check_target(paging: Paging, schedule: str, layer: str | None, person: str) -> None:
    """UsageError unless opsbook.yaml has the schedule, its layer and the person."""
    if schedule not in paging.schedules:
        raise UsageError(f"no schedule {schedule!r}; schedules are: {', '.join(paging.schedules)}")
    if person not in paging.people:
        raise UsageError(f"no person {person!r} in people:")
    if layer is not None and layer not in paging.schedules[schedule].layers:
        raise UsageError(f"schedule {schedule!r} has no layer {layer!r}")


def _override(row: Row[Any]) -> Override:
    return Override(row.id, row.schedule, row.layer, row.person, row.starts_at, row.ends_at)


class Overrides:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        schedule: str,
        layer: str | None,
        person: str,
        start: datetime,
        end: datetime,
        *,
        why: str,
        actor: str,
        now: datetime,
    ) -> Override:
        if end <= start:
            raise UsageError("--to must be after --from")
        with begin(self.engine) as conn:
            new_id = conn.execute(
                insert(oncall_overrides)
                .values(
                    schedule=schedule,
                    layer=layer,
                    person=person,
                    starts_at=start,
                    ends_at=end,
                    why=why,
                    created_at=now,
                    created_by=actor,
                )
                .returning(oncall_overrides.c.id)
            ).scalar_one()
        return Override(new_id, schedule, layer, person, start, end)

    def remove(self, override_id: int, *, actor: str, now: datetime) -> None:
        with begin(self.engine) as conn:
            done = conn.execute(
                update(oncall_overrides)
                .where(
                    oncall_overrides.c.id == override_id, oncall_overrides.c.removed_at.is_(None)
                )
                .values(removed_at=now, removed_by=actor)
            ).rowcount
        if not done:
            raise IncidentError(f"no override #{override_id} (see opsbook oncall override list)")

    def lazy(self, conn: Connection, *, since: datetime, until: datetime) -> Lazy:
        """``active`` read (in ``conn``'s transaction) the first time it is used: most
        paging rounds page nobody."""
        return Lazy(lambda: self._active(conn, since, until, None))

    def active(
        self,
        *,
        until: datetime | None = None,
        since: datetime | None = None,
        schedule: str | None = None,
    ) -> list[Override]:
        with read(self.engine) as conn:
            return self._active(conn, since, until, schedule)

    @staticmethod
    def _active(conn: Connection, since: datetime | None, until: datetime | None,
                schedule: str | None) -> list[Override]:  # fmt: skip
        query = select(oncall_overrides).where(oncall_overrides.c.removed_at.is_(None))
        if schedule is not None:
            query = query.where(oncall_overrides.c.schedule == schedule)
        if since is not None:
            query = query.where(oncall_overrides.c.ends_at > since)
        if until is not None:
            query = query.where(oncall_overrides.c.starts_at < until)
        rows = conn.execute(query.order_by(oncall_overrides.c.starts_at))
        return [_override(r) for r in rows]


class Lazy(Sequence[Any]):
    """A list read from the store the first time it is used."""

    def __init__(self, load: Callable[[], list[Any]]) -> None:
        self._load = load
        self._items: list[Any] | None = None

    def _get(self) -> list[Any]:
        if self._items is None:
            self._items = self._load()
        return self._items

    def __len__(self) -> int:
        return len(self._get())

    def __getitem__(self, index: Any) -> Any:
        return self._get()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._get())
