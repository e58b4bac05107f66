"""An incident as the API and the incident page show it: `opsbook incident show --format
json`'s shape, and the timeline's filter groups."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsbook.incidents.model import EntryKind

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

# the timeline's filters: which entry kinds each shows
ALERTS = {EntryKind.ALERT, EntryKind.MAINTENANCE, EntryKind.ESCALATION}
DELIVERIES = {EntryKind.PAGE, EntryKind.DELIVERY}


def entry_group(kind: EntryKind) -> str:
    return "alerts" if kind in ALERTS else "deliveries" if kind in DELIVERIES else "humans"


async def incident_doc(d: Daemon, incident_id: str) -> dict[str, Any]:
    """`opsbook incident show ID --format json`'s shape."""
    from opsbook.incidents.records import ActionItems, read_timeline
    from opsbook.output.incidents import action_dict, entry_dict, incident_dict
    from opsbook.playbook.suggest import for_incident

    def read() -> tuple[Any, Any, Any, list[str]]:
        found = d.incidents.get(incident_id)
        entries = read_timeline(d.store.engine, [incident_id])[incident_id]
        items = ActionItems(d.store.engine).list(incident_id=incident_id)
        return found, entries, items, for_incident(d.store.engine, d.config.actions, incident_id)

    found, entries, items, suggest = await d.in_store(read)
    now: datetime = d.clock()
    doc = incident_dict(found, d.incidents.policy, now)
    doc["timeline"] = [entry_dict(e) for e in entries]
    doc["actions"] = [action_dict(a, now.date()) for a in items]
    doc["suggested_actions"] = suggest
    return doc
