"""The incident record's values: phases, timeline entry kinds, and the records themselves."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


class Phase(enum.StrEnum):
    """The runbook's process: detection & triage, investigation, containment, recovery,
    then resolution and the post-incident review."""

    TRIAGE = "triage"
    INVESTIGATING = "investigating"
    CONTAINED = "contained"
    RECOVERING = "recovering"
    RESOLVED = "resolved"
    REVIEWED = "reviewed"

    @property
    def is_open(self) -> bool:
        return self in ACTIVE_PHASES


ACTIVE_PHASES = (Phase.TRIAGE, Phase.INVESTIGATING, Phase.CONTAINED, Phase.RECOVERING)


class EntryKind(enum.StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    NOTE = "note"
    SEVERITY = "severity"
    PHASE = "phase"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    EDITED = "edited"
    ACTION_ADDED = "action_added"
    ACTION_DONE = "action_done"
    ALERT = "alert"  # an alert's transition: firing, escalated, resolved, flapping…
    MAINTENANCE = "maintenance"  # a maintenance window opened or closed over the incident
    PAGE = "page"  # who was paged (or told), at which escalation level
    DELIVERY = "delivery"  # a notification delivered, or given up on
    ESCALATION = "escalation"  # the escalation started, moved, repeated or stopped
    ACTION_RUN = "action_run"  # a containment action ran (by a person or by opsbook)
    PROCEDURE = "procedure"  # a recovery procedure's step started, passed or failed


class ActionKind(enum.StrEnum):
    FIX = "fix"
    RUNBOOK = "runbook"  # the runbook's rule: update runbooks after every incident
    MONITORING = "monitoring"
    PROCESS = "process"


# Fields of the post-incident report only a human can fill, with their report headings.
HUMAN_FIELDS: dict[str, str] = {
    "summary": "Summary",
    "users_affected": "Users Affected",
    "business_impact": "Business Impact",
    "root_cause": "Root Cause",
    "resolution": "Resolution",
    "prevention": "Prevention",
    "lessons": "Lessons Learned",
}


def severity_label(level: int) -> str:
    return f"SEV-{level}"


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    service: str
    severity: int
    phase: Phase
    commander: str | None
    opened_at: datetime
    opened_by: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    response_due_at: datetime
    resolved_at: datetime | None
    reviewed_at: datetime | None
    fields: dict[str, str | None] = field(default_factory=dict)  # HUMAN_FIELDS values

    @property
    def is_open(self) -> bool:
        return self.phase.is_open


@dataclass(frozen=True)
class Entry:
    id: int
    incident_id: str
    at: datetime
    actor: str
    kind: EntryKind
    body: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ActionItem:
    id: int
    incident_id: str
    text: str
    kind: ActionKind
    owner: str | None
    due: date | None
    created_at: datetime
    created_by: str
    done_at: datetime | None
    done_by: str | None

    @property
    def is_open(self) -> bool:
        return self.done_at is None
