"""One cheap reading that moves whenever anything a person sees changes: the newest
timeline entry, alert event, silence, override, action item and backup event, and the
counts that move without a new row (a silence expired, an override removed, an item done).
The live console compares it once a second (web/live.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from opsbook.store.tables import (
    action_items,
    alert_events,
    backup_events,
    oncall_overrides,
    silences,
    timeline,
)
from opsbook.store.tx import read


def fingerprint(engine: Engine) -> tuple[Any, ...]:
    figures = [
        select(func.max(timeline.c.id)).scalar_subquery(),
        select(func.max(alert_events.c.id)).scalar_subquery(),
        select(func.max(silences.c.id)).scalar_subquery(),
        select(func.count(silences.c.expired_at)).scalar_subquery(),
        select(func.max(oncall_overrides.c.id)).scalar_subquery(),
        select(func.count()).select_from(oncall_overrides).scalar_subquery(),
        select(func.count(action_items.c.done_at)).scalar_subquery(),
        select(func.max(action_items.c.id)).scalar_subquery(),
        select(func.max(backup_events.c.id)).scalar_subquery(),
    ]
    with read(engine) as conn:
        return tuple(conn.execute(select(*figures)).one())
