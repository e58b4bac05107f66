"""Which actions an incident suggests: those whose ``suggest_for`` names a check whose alert
opened or joined it. Shown as commands in the page and in `incident show`."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select

from opsbook.config.actions import ActionConfig
from opsbook.status import Status
from opsbook.store.tables import action_runs, alerts
from opsbook.store.tx import read


def incident_checks(conn: Connection, incident_id: str) -> set[str]:
    """The checks whose alerts are on the incident (``db@host-b`` counts as ``db``)."""
    rows = conn.execute(select(alerts.c.name).where(alerts.c.incident_id == incident_id))
    return {str(r.name).split("@", 1)[0] for r in rows}


def suggested(actions: dict[str, ActionConfig], checks: set[str]) -> list[str]:
    return [name for name, a in actions.items() if checks & set(a.suggest_for)]


def suggested_lines(actions: dict[str, ActionConfig], incident_id: str,
                    checks: set[str]) -> list[str]:  # fmt: skip
    return [f"opsbook incident act {incident_id} {name}"
            + (f"   # {actions[name].description}" if actions[name].description else "")
            for name in suggested(actions, checks)]  # fmt: skip


def for_incident(engine: Engine, actions: dict[str, ActionConfig], incident_id: str) -> list[str]:
    """The names of the actions the incident suggests."""
    if not actions:
        return []
    with read(engine) as conn:
        return suggested(actions, incident_checks(conn, incident_id))


def automatic_runs(conn: Connection, incident_id: str) -> list[str]:
    """What opsbook ran by itself for the incident, for the pages that follow."""
    rows = conn.execute(
        select(action_runs.c.action, action_runs.c.started_at, action_runs.c.status)
        .where(action_runs.c.incident_id == incident_id, action_runs.c.trigger == "auto")
        .order_by(action_runs.c.id)
    )
    return [
        f"opsbook ran {r.action} at {r.started_at:%H:%M} UTC ("
        f"{Status(r.status).name if r.status is not None else 'running'})"
        for r in rows
    ]
