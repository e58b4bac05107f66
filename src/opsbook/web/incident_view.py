"""An incident as the API and the incident page show it: `opsbook incident show --format
json`'s shape, and the timeline's filter groups."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsbook.incidents.model import EntryKind

if TYPE_CHECKING:
    from opsbook.config.actions import ActionConfig
    from opsbook.daemon.main import Daemon

# the timeline's filters: which entry kinds each shows
ALERTS = {EntryKind.ALERT, EntryKind.MAINTENANCE, EntryKind.ESCALATION}
DELIVERIES = {EntryKind.PAGE, EntryKind.DELIVERY}


def entry_group(kind: EntryKind) -> str:
    return "alerts" if kind in ALERTS else "deliveries" if kind in DELIVERIES else "humans"


@dataclass(frozen=True)
class IncidentRecord:
    """One incident as the store holds it: read once, shown as JSON, a page or a report."""

    incident: Any
    entries: list[Any]
    items: list[Any]
    suggested: list[str]


def read_incident(d: Daemon, incident_id: str) -> IncidentRecord:
    """In the store thread."""
    from opsbook.incidents.records import ActionItems, read_timeline
    from opsbook.playbook.suggest import for_incident

    found = d.incidents.get(incident_id)
    entries = read_timeline(d.store.engine, [incident_id])[incident_id]
    items = ActionItems(d.store.engine).list(incident_id=incident_id)
    suggested = for_incident(d.store.engine, d.config.actions, incident_id)
    return IncidentRecord(found, entries, items, suggested)


def doc_of(d: Daemon, record: IncidentRecord) -> dict[str, Any]:
    """`opsbook incident show ID --format json`'s shape."""
    from opsbook.output.incidents import action_dict, entry_dict, incident_dict

    now: datetime = d.clock()
    doc = incident_dict(record.incident, d.incidents.policy, now)
    doc["timeline"] = [entry_dict(e) for e in record.entries]
    doc["actions"] = [action_dict(a, now.date()) for a in record.items]
    doc["suggested_actions"] = record.suggested
    return doc


def report_markdown(d: Daemon, record: IncidentRecord) -> str:
    from opsbook.incidents.report import render_markdown
    from opsbook.timefmt import zone

    return render_markdown(record.incident, record.entries, record.items, d.incidents.policy,
                           zone(d.config.timezone), d.clock())  # fmt: skip


async def incident_doc(d: Daemon, incident_id: str) -> dict[str, Any]:
    """`opsbook incident show ID --format json`'s shape, read in the store thread."""
    return doc_of(d, await d.in_store(lambda: read_incident(d, incident_id)))


def start_action(
    d: Daemon,
    running: set[asyncio.Task[None]],
    name: str,
    action: ActionConfig,
    incident_id: str,
    actor: str,
) -> None:
    """Run a containment action for an incident off the loop, as ``actor`` (the page and the
    API answer at once; run_action puts its start and end on the timeline). ``running``
    holds the task until it ends."""
    from opsbook.playbook.act import run_action
    from opsbook.playbook.records import Trigger

    def go() -> None:
        run_action(d.store.engine, name, action, incident_id=incident_id, actor=actor,
                   trigger=Trigger.MANUAL, clock=d.clock, redact=d.loaded.redactor)  # fmt: skip

    task = asyncio.get_running_loop().create_task(asyncio.to_thread(go))
    running.add(task)
    task.add_done_callback(running.discard)
