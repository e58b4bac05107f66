"""Response clocks: whether each incident met its severity's target, and the numbers a team
reviews (MTTA, MTTR), computed from the timeline.

The response clock stops at acknowledgement. Until then an incident is ``running``, ``at risk``
(less than 25 % of the target left) or ``breached``; after, ``met`` or ``late``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from opsbook.incidents.model import Entry, EntryKind, Incident
from opsbook.incidents.severity import SeverityPolicy
from opsbook.stats import percentile

AT_RISK_SHARE = 0.25


class Response(enum.StrEnum):
    RUNNING = "running"
    AT_RISK = "at risk"
    BREACHED = "breached"
    MET = "met"
    LATE = "late"


def response_state(incident: Incident, policy: SeverityPolicy, now: datetime) -> Response:
    due = incident.response_due_at
    if incident.acknowledged_at is not None:
        return Response.MET if incident.acknowledged_at <= due else Response.LATE
    if now > due:
        return Response.BREACHED
    target = policy.get(incident.severity).response
    return (
        Response.AT_RISK
        if (due - now).total_seconds() < AT_RISK_SHARE * target
        else (Response.RUNNING)
    )


@dataclass(frozen=True)
class Times:
    """What the timeline says about one incident, in seconds from its opening."""

    to_ack: float | None
    to_resolve: float | None  # to its last resolution, if it is resolved now


def times_from_timeline(incident: Incident, entries: Sequence[Entry]) -> Times:
    ack = next((e.at for e in entries if e.kind is EntryKind.ACKNOWLEDGED), None)
    resolved = None
    for entry in entries:
        if entry.kind is EntryKind.RESOLVED:
            resolved = entry.at
        elif entry.kind is EntryKind.REOPENED:
            resolved = None
    start = incident.opened_at
    to_resolve = None
    if resolved is not None:
        to_resolve = (resolved - start).total_seconds() - _maintenance(entries, resolved)
    return Times(to_ack=(ack - start).total_seconds() if ack else None, to_resolve=to_resolve)


def _maintenance(entries: Sequence[Entry], until: datetime) -> float:
    """Seconds spent inside maintenance windows before ``until``: not the responders' time."""
    total = 0.0
    opened: dict[str, datetime] = {}
    for entry in entries:
        if entry.kind is not EntryKind.MAINTENANCE or entry.at > until:
            continue
        window = str(entry.data.get("window"))
        if entry.data.get("state") == "started":
            opened.setdefault(window, entry.at)
        elif window in opened:
            total += (entry.at - opened.pop(window)).total_seconds()
    total += sum((until - since).total_seconds() for since in opened.values())
    return total


@dataclass(frozen=True)
class SeverityStats:
    severity: int
    count: int
    mtta_median: float | None
    mtta_p90: float | None
    mttr_median: float | None
    mttr_p90: float | None
    acked_within_target: (
        float | None
    )  # share, 0..1, of incidents whose clock has stopped or run out
    open_breaches: int


def stats(
    incidents: Sequence[Incident],
    timelines: Mapping[str, Sequence[Entry]],
    policy: SeverityPolicy,
    now: datetime,
) -> list[SeverityStats]:
    out = []
    for level in policy.levels:
        mine = [i for i in incidents if i.severity == level.level]
        times = [times_from_timeline(i, timelines.get(i.id, ())) for i in mine]
        to_ack = [t.to_ack for t in times if t.to_ack is not None]
        to_resolve = [t.to_resolve for t in times if t.to_resolve is not None]
        states = [response_state(i, policy, now) for i in mine]
        decided = [s for s in states if s in (Response.MET, Response.LATE, Response.BREACHED)]
        met = sum(1 for s in decided if s is Response.MET)
        out.append(
            SeverityStats(
                severity=level.level,
                count=len(mine),
                mtta_median=percentile(to_ack, 50),
                mtta_p90=percentile(to_ack, 90),
                mttr_median=percentile(to_resolve, 50),
                mttr_p90=percentile(to_resolve, 90),
                acked_within_target=met / len(decided) if decided else None,
                open_breaches=sum(
                    1
                    for i, s in zip(mine, states, strict=True)
                    if s is Response.BREACHED and i.is_open
                ),
            )
        )
    return out
