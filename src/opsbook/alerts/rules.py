"""The alert state machine, as a pure function of (alert, observation, rule, now).

    inactive --bad--> pending --bad held `for`--> firing --ok held `keep_firing_for`--> inactive
                        |                           |  \\--worse level--> escalated (still firing)
                        +--ok--> inactive           +--UNKNOWN: stays firing (no data is not OK)

UNKNOWN (the check could not run) counts as bad at the warning level: missing data never
resolves a firing alert. A check that flips between good and bad FLAP_HIGH times within
FLAP_WINDOW is flapping: it fires once and stays firing until the flips die down.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from opsbook.alerts.model import Alert, AlertState, Event, EventKind, Rule
from opsbook.status import Status

FLAP_WINDOW = timedelta(minutes=10)
FLAP_HIGH = 6  # flips in the window that make a check flapping
FLAP_LOW = 2  # flips in the window below which it is stable again


def _is_bad(status: Status) -> bool:
    return status is not Status.OK


def _level(status: Status) -> Status:
    """The alerting level: CRITICAL, or WARNING for WARNING and UNKNOWN."""
    return Status.CRITICAL if status is Status.CRITICAL else Status.WARNING


def evaluate(
    alert: Alert, status: Status, summary: str, rule: Rule, now: datetime
) -> tuple[Alert, list[Event]]:
    events: list[Event] = []
    flips = tuple(t for t in alert.flips if now - t <= FLAP_WINDOW)
    if alert.last_status is not None and _is_bad(alert.last_status) != _is_bad(status):
        flips = (*flips, now)
    alert = replace(alert, flips=flips, last_status=status, updated_at=now)

    if _is_bad(status):
        alert = _bad(alert, status, summary, rule, now, events)
    else:
        alert = _good(alert, rule, now, events)
    return _flapping(alert, summary, rule, now, events), events


def _bad(
    alert: Alert, status: Status, summary: str, rule: Rule, now: datetime, events: list[Event]
) -> Alert:
    level = _level(status)
    # Until it fires, the alert is the latest result: it fires at that result's level with
    # that result's words (one CRITICAL early in `for` does not lend its severity to a
    # WARNING message). Once firing, a worse level escalates and a milder one does not lower.
    worst = (
        level
        if alert.state is not AlertState.FIRING
        else max(alert.level, level, key=lambda s: s.severity)
    )
    alert = replace(alert, last_bad_at=now, summary=summary, level=worst)
    if alert.state is AlertState.INACTIVE:
        alert = replace(alert, state=AlertState.PENDING, pending_since=now)
        events.append(Event(EventKind.PENDING, now, worst, None, summary))
    if alert.state is AlertState.PENDING:
        since = alert.pending_since or now
        held = (now - since).total_seconds()
        if held >= rule.pending_for:
            severity = rule.severity_for(worst)
            alert = replace(alert, state=AlertState.FIRING, firing_since=now, severity=severity)
            data = {"pending_since": since.isoformat(), "held_s": held}
            events.append(Event(EventKind.FIRING, now, worst, severity, summary, data))
        return alert
    # firing: a worse level raises the severity of what is already open
    severity = rule.severity_for(worst)
    if alert.severity is not None and severity < alert.severity:
        events.append(
            Event(EventKind.ESCALATED, now, worst, severity, summary, {"from": alert.severity})
        )
        alert = replace(alert, severity=severity)
    return alert


def next_decision(alert: Alert, rule: Rule) -> datetime | None:
    """When a result would change this alert by time alone: the end of ``for`` (it fires),
    of ``keep_firing_for`` (it resolves), of ``auto_resolve`` (its incident closes). The
    daemon runs the check at that moment, so timing is as configured, not up to an interval
    later."""
    if alert.state is AlertState.PENDING and alert.pending_since is not None:
        return alert.pending_since + timedelta(seconds=rule.pending_for)
    if (
        alert.state is AlertState.FIRING
        and alert.last_status is Status.OK
        and alert.last_bad_at is not None
        and rule.keep_firing_for
    ):
        return alert.last_bad_at + timedelta(seconds=rule.keep_firing_for)
    if (
        alert.state is AlertState.INACTIVE
        and alert.incident_id is not None
        and alert.resolved_at is not None
        and rule.auto_resolve is not None
    ):
        return alert.resolved_at + timedelta(seconds=rule.auto_resolve)
    return None


def _good(alert: Alert, rule: Rule, now: datetime, events: list[Event]) -> Alert:
    if alert.state is AlertState.PENDING:
        return replace(alert, state=AlertState.INACTIVE, pending_since=None, level=Status.OK)
    if alert.state is not AlertState.FIRING or alert.flapping:
        return alert
    last_bad = alert.last_bad_at or now
    if (now - last_bad).total_seconds() < rule.keep_firing_for:
        return alert
    events.append(
        Event(
            EventKind.RESOLVED,
            now,
            Status.OK,
            alert.severity,
            "check is OK again",
            {"firing_since": alert.firing_since.isoformat() if alert.firing_since else None},
        )
    )
    return replace(
        alert,
        state=AlertState.INACTIVE,
        pending_since=None,
        firing_since=None,
        level=Status.OK,
        resolved_at=now,
    )


def _flapping(alert: Alert, summary: str, rule: Rule, now: datetime, events: list[Event]) -> Alert:
    flips = len(alert.flips)
    if not alert.flapping and flips >= FLAP_HIGH:
        alert = replace(alert, flapping=True)
        if alert.state is not AlertState.FIRING:  # it never held bad long enough, but it is sick
            level = alert.level if alert.level is not Status.OK else Status.WARNING
            severity = rule.severity_for(level)
            alert = replace(
                alert,
                state=AlertState.FIRING,
                firing_since=now,
                severity=severity,
                level=level,
                pending_since=alert.pending_since or now,
            )
            events.append(
                Event(EventKind.FIRING, now, level, severity, summary, {"flapping": True})
            )
        minutes = int(FLAP_WINDOW.total_seconds() // 60)
        text = f"changed state {flips} times in {minutes} minutes"
        events.append(
            Event(EventKind.FLAPPING, now, alert.level, alert.severity, text, {"flips": flips})
        )
    elif alert.flapping and flips <= FLAP_LOW:
        alert = replace(alert, flapping=False)
        events.append(
            Event(
                EventKind.FLAPPING_STOPPED,
                now,
                alert.level,
                alert.severity,
                "stable again",
                {"flips": flips},
            )
        )
        if alert.last_status is Status.OK and alert.state is AlertState.FIRING:
            alert = _good(alert, rule, now, events)
    return alert


V = TypeVar("V")


class PerInstance(dict[str, V]):
    """By check name; ``disk@monitor-b`` (a host-local check as one instance of a
    deployment ran it) finds ``disk``'s entry: one rule, one alert per instance."""

    def __missing__(self, key: str) -> V:
        base, at, _ = key.rpartition("@")
        if at and dict.__contains__(self, base):
            return self[base]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        if not isinstance(key, str):
            return False
        base, at, _ = key.rpartition("@")
        return bool(at) and dict.__contains__(self, base)
