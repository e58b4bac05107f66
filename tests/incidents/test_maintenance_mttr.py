"""MTTR leaves maintenance windows out (they are on the timeline)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from opsbook.incidents.clocks import times_from_timeline
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.model import EntryKind
from opsbook.incidents.records import read_timeline
from opsbook.incidents.rows import append_entry
from opsbook.store.tx import begin

from .conftest import FakeClock


def test_time_inside_a_window_is_not_counted(
    service: Incidents, engine: Engine, clock: FakeClock
) -> None:
    inc = service.open(title="x", severity=2, service="api", actor="a")
    clock.advance(minutes=10)
    with begin(engine) as conn:
        append_entry(conn, inc.id, clock.now, "opsbook", EntryKind.MAINTENANCE, "started",
                     {"state": "started", "window": "w"})  # fmt: skip
    clock.advance(minutes=30)
    with begin(engine) as conn:
        append_entry(conn, inc.id, clock.now, "opsbook", EntryKind.MAINTENANCE, "ended",
                     {"state": "ended", "window": "w"})  # fmt: skip
    clock.advance(minutes=20)
    service.resolve(inc.id, "fixed", "a")
    times = times_from_timeline(service.get(inc.id), read_timeline(engine, [inc.id])[inc.id])
    assert times.to_resolve == timedelta(minutes=30).total_seconds()
