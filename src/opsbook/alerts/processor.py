"""From check results to alerts to incidents, one batch per transaction.

Runs in the daemon's store thread. For each batch: evaluate every result against its alert
(pure), gather evidence for alerts that start firing (outside the transaction: it talks to
the monitored database), then in one transaction store the results, save the alerts that
changed, record their events, and open / attach / escalate / note / auto-resolve incidents.
Only after the commit does the in-memory copy of the alerts move on, so a failed write leaves
nothing half-done and the next batch re-evaluates from the last committed state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from opsbook.alerts.evidence import (
    container_snapshot,
    postgres_snapshot,
    result_evidence,
    snapshot_summary,
)
from opsbook.alerts.intake import ExternalAlert, apply_external
from opsbook.alerts.model import Alert, AlertState, Event, EventKind, Rule, Source
from opsbook.alerts.rules import PerInstance, evaluate, next_decision
from opsbook.alerts.store import load_alerts, record_events, save_alert, store_results
from opsbook.alerts.suppression import Suppression, Suppressor
from opsbook.alerts.suppression import apply as apply_suppression
from opsbook.config.checks import CheckBase, PostgresCheck
from opsbook.config.container_checks import ContainerCheck
from opsbook.config.maintenance import WindowConfig
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.model import EntryKind, severity_label
from opsbook.incidents.rows import append_entry, severity_of
from opsbook.results import Result
from opsbook.secrets import Redactor
from opsbook.status import Status
from opsbook.store.tx import begin, read
from opsbook.units import format_duration

log = logging.getLogger("opsbook.alerts")
ACTOR = "opsbook"
PAGED_SEVERITIES = (1, 2, 3)  # SEV-4 is recorded and listed, never paged


@dataclass(frozen=True)
class Notice:
    """Something worth a log line: an incident opened, an alert resolved…"""

    fingerprint: str
    text: str


def check_fingerprint(name: str) -> str:
    return f"check:{name}"


class AlertProcessor:
    def __init__(
        self,
        engine: Engine,
        incidents: Incidents,
        checks: Mapping[str, CheckBase],
        *,
        service: str,
        redact: Redactor,
        clock: Callable[[], datetime],
        windows: Sequence[WindowConfig] = (),
        timezone: str | None = None,
    ) -> None:
        self.engine = engine
        self.incidents = incidents
        self.checks = PerInstance(checks)
        self.rules = PerInstance({name: Rule.of(check) for name, check in checks.items()})
        self.service = service
        self.redact = redact
        self.clock = clock
        self.suppressor = Suppressor(windows, timezone)
        # fingerprint -> the silence or window over it, to notice them start and end
        self.in_window: dict[str, Suppression | None] = {}
        with read(engine) as conn:
            self.alerts: dict[str, Alert] = load_alerts(conn)

    def alert_for(self, name: str) -> Alert:
        fp = check_fingerprint(name)
        existing = self.alerts.get(fp)
        if existing is not None:
            return existing
        kind = self.checks[name].kind.value
        return Alert(fp, Source.CHECK, name, {"check": name, "type": kind})

    def urgent(self, result: Result) -> bool:
        """Whether this result may change an alert (so it must not wait to be processed)."""
        if result.status is not Status.OK or result.name not in self.rules:
            return True
        alert = self.alerts.get(check_fingerprint(result.name))
        return alert is None or alert.last_status is not Status.OK or not _quiet(alert, ())

    def process(self, results: Sequence[Result]) -> list[Notice]:
        now = self.clock()
        # A check opsbook could not run for want of its own resources says nothing about the
        # target: it is neither stored nor allowed to move an alert (the daemon reports it).
        results = [r for r in results if not r.local_fault]
        changed: dict[str, tuple[Alert, list[Event], Result]] = {}
        for result in results:
            if result.name not in self.rules:
                continue
            prior = changed.get(check_fingerprint(result.name))
            before = prior[0] if prior else self.alert_for(result.name)
            rule = self.rules[result.name]
            after, events = evaluate(before, result.status, result.message, rule, result.started_at)
            changed[after.fingerprint] = (after, (prior[1] if prior else []) + events, result)
        evidence = {
            fp: self._evidence(result, events)
            for fp, (_, events, result) in changed.items()
            if any(e.kind is EventKind.FIRING for e in events)
        }
        notices: list[Notice] = []
        committed: dict[str, Alert] = {}
        quiet = {fp for fp, (a, events, _) in changed.items() if _quiet(a, events)}
        with begin(self.engine) as conn:
            store_results(conn, results)
            if len(quiet) < len(changed):  # silences matter only to an alert that is not quiet
                self.suppressor.load(conn, now)
            for fp, (evaluated, events, result) in changed.items():
                rule = self.rules[result.name]
                if fp in quiet:
                    # an OK check with no alert, incident or silence to track: first sight
                    # again when it next matters, so no stale window transition is written
                    self.in_window.pop(fp, None)
                    committed[fp] = evaluated
                    if _worth_saving(self.alerts.get(fp), evaluated):
                        save_alert(conn, evaluated)
                    continue
                suppression = self.suppressor.of(evaluated, now)
                alert, recorded, acting = apply_suppression(evaluated, events, suppression, now)
                if any(e.kind is EventKind.FIRING for e in acting) and fp not in evidence:
                    evidence[fp] = {"result": result_evidence(result)}
                alert = self._incidents(conn, alert, acting, rule, evidence.get(fp), notices)
                alert = self._auto_resolve(conn, alert, rule, now, notices)
                self._windows(conn, alert, suppression, now)
                if _worth_saving(self.alerts.get(fp), alert):
                    save_alert(conn, alert)
                record_events(conn, alert, recorded)
                committed[fp] = alert
        self.alerts.update(committed)
        return notices

    def reconfigure(
        self,
        checks: Mapping[str, CheckBase],
        *,
        service: str,
        redact: Redactor,
        windows: Sequence[WindowConfig] = (),
        timezone: str | None = None,
    ) -> list[Notice]:
        """A reload: new rules; the alerts of checks that are gone resolve ("check removed");
        every other alert keeps its state, pending timer and incident."""
        removed = [name for name in self.checks if name not in checks]
        self.checks = PerInstance(checks)
        self.rules = PerInstance({name: Rule.of(check) for name, check in checks.items()})
        self.service = service
        self.redact = redact
        self.suppressor = Suppressor(windows, timezone)
        return self._retire(removed)

    def _retire(self, names: Sequence[str]) -> list[Notice]:
        now = self.clock()
        notices: list[Notice] = []
        committed: dict[str, Alert] = {}
        with begin(self.engine) as conn:
            for name in names:
                alert = self.alerts.get(check_fingerprint(name))
                if alert is None or alert.state is AlertState.INACTIVE:
                    continue
                event = Event(EventKind.RESOLVED, now, Status.OK, alert.severity, "check removed")
                after = replace(alert, state=AlertState.INACTIVE, pending_since=None,
                                firing_since=None, level=Status.OK, resolved_at=now,
                                updated_at=now)  # fmt: skip
                if alert.incident_id and self.incidents.is_open_in(conn, alert.incident_id):
                    self._note(conn, alert.incident_id, after, event)
                save_alert(conn, after)
                record_events(conn, after, [event])
                committed[after.fingerprint] = after
                notices.append(Notice(after.fingerprint, f"{name}: check removed, alert resolved"))
        self.alerts.update(committed)
        return notices

    def decisions(self) -> dict[str, datetime]:
        """Check name -> when time alone would change its alert (see rules.next_decision)."""
        out = {}
        for name, rule in self.rules.items():
            alert = self.alerts.get(check_fingerprint(name))
            when = next_decision(alert, rule) if alert is not None else None
            if when is not None:
                out[name] = when
        return out

    def ingest(
        self,
        externals: Sequence[ExternalAlert],
        severity_for: Callable[[str], int],
        actor: str,
        *,
        auto_resolve: bool = False,
    ) -> tuple[int, list[Notice]]:
        """Alerts from Alertmanager / PagerDuty; returns how many changed anything.

        Idempotent: an alert already firing since the same time, or already resolved, is
        left alone, so a repeated delivery changes nothing. A resolution resolves the alert;
        its incident stays open for a human unless ``auto_resolve`` (intake.auto_resolve)
        and nobody has touched it yet.
        """
        notices: list[Notice] = []
        committed: dict[str, Alert] = {}
        changes = 0
        now = self.clock()
        with begin(self.engine) as conn:
            self.suppressor.load(conn, now)
            # amtool sends a startsAt in the future: such an alert fires now
            clamped = [replace(e, at=now, reported_at=e.at) if e.at > now else e for e in externals]
            for ext in clamped:
                before = (
                    committed.get(ext.fingerprint)
                    or self.alerts.get(ext.fingerprint)
                    or (Alert(ext.fingerprint, ext.source, ext.name, ext.labels))
                )
                after, events = apply_external(before, ext, severity_for(ext.severity_word))
                if ext.action == "acknowledge":
                    changes += self._acknowledge(conn, before, actor)
                    continue
                if not events:
                    continue
                changes += 1
                level = after.severity or 3
                rule = Rule(0.0, 0.0, level, level, 0.0 if auto_resolve else None)
                suppression = self.suppressor.of(after, now)
                after, recorded, acting = apply_suppression(after, events, suppression, now)
                open_id = after.incident_id
                after = self._incidents(conn, after, acting, rule, None, notices)
                if auto_resolve and open_id and any(e.kind is EventKind.RESOLVED for e in acting):
                    self._source_resolved(conn, after, open_id, notices)
                save_alert(conn, after)
                record_events(conn, after, recorded)
                committed[after.fingerprint] = after
        self.alerts.update(committed)
        return changes, notices

    def _source_resolved(
        self, conn: Connection, alert: Alert, incident_id: str, notices: list[Notice]
    ) -> None:
        if not self.incidents.untouched_in(conn, incident_id, ACTOR):
            return  # someone is on it: theirs to resolve
        why = f"auto-resolved: {alert.source.value} resolved {alert.name} (intake.auto_resolve)"
        self.incidents.resolve_in(conn, incident_id, why, ACTOR)
        notices.append(Notice(alert.fingerprint, f"{alert.name}: {incident_id} {why}"))

    def _acknowledge(self, conn: Connection, alert: Alert, actor: str) -> int:
        if not alert.incident_id or not self.incidents.is_open_in(conn, alert.incident_id):
            return 0
        return int(self.incidents.acknowledge_in(conn, alert.incident_id, actor))

    # ------------------------------------------------------------------ incidents

    def _incidents(
        self,
        conn: Connection,
        alert: Alert,
        events: list[Event],
        rule: Rule,
        evidence: dict[str, Any] | None,
        notices: list[Notice],
    ) -> Alert:
        for event in events:
            open_id = (
                alert.incident_id
                if alert.incident_id and self.incidents.is_open_in(conn, alert.incident_id)
                else None
            )
            if event.kind is EventKind.FIRING or (
                event.kind is EventKind.ESCALATED and open_id is None
            ):
                alert = self._fire(conn, alert, event, open_id, evidence, notices)
            elif open_id is None:
                continue
            elif event.kind is EventKind.ESCALATED:
                self._escalate(conn, open_id, alert, event)
            else:
                self._note(conn, open_id, alert, event)
                if event.kind is EventKind.RESOLVED:
                    waits = "" if rule.auto_resolve else f" ({open_id} stays open for a human)"
                    notices.append(Notice(alert.fingerprint, f"{alert.name}: resolved{waits}"))
        return alert

    def _fire(
        self,
        conn: Connection,
        alert: Alert,
        event: Event,
        open_id: str | None,
        evidence: dict[str, Any] | None,
        notices: list[Notice],
    ) -> Alert:
        severity = event.severity or alert.severity or 3
        if severity not in PAGED_SEVERITIES:
            notices.append(
                Notice(
                    alert.fingerprint,
                    f"{alert.name}: firing as {severity_label(severity)} (recorded, not paged)",
                )
            )
            return alert
        if open_id is not None:  # one incident per problem: attach, never open a second
            self._note(conn, open_id, alert, event, evidence)
            return alert
        title = f"{alert.name}: {alert.summary}"[:200]
        incident_id = self.incidents.open_in(
            conn,
            title=title,
            severity=severity,
            service=self.service,
            actor=ACTOR,
            data={"fingerprint": alert.fingerprint, "source": alert.source.value},
        )
        alert = replace(alert, incident_id=incident_id)
        self._note(conn, incident_id, alert, event, evidence)
        notices.append(
            Notice(
                alert.fingerprint,
                f"{alert.name}: firing, opened {incident_id} "
                f"({severity_label(severity)}): {alert.summary}",
            )
        )
        return alert

    def _windows(
        self, conn: Connection, alert: Alert, suppression: Suppression | None, now: datetime
    ) -> None:
        """A silence or maintenance window starting or ending over an alert with an open
        incident goes on its timeline (windows as their own kind, which MTTR leaves out)."""
        current = suppression
        before = self.in_window.get(alert.fingerprint, current)  # first sight: no transition
        self.in_window[alert.fingerprint] = current
        if before == current or not alert.incident_id:
            return
        if not self.incidents.is_open_in(conn, alert.incident_id):
            return
        for state, which in (("ended", before), ("started", current)):
            if which is None:
                continue
            data = {"state": state, "fingerprint": alert.fingerprint}
            if which.kind == "maintenance":
                text = f"maintenance window {which.name} {state} for {alert.name}"
                data["window"] = which.name
                kind = EntryKind.MAINTENANCE
            else:
                verb = "silenced" if state == "started" else "no longer silenced"
                text = f"alert {alert.name} {verb}: {which.text}"
                data |= {
                    "event": "silenced" if state == "started" else "unsilenced",
                    "silence": which.name,
                }
                kind = EntryKind.ALERT
            append_entry(conn, alert.incident_id, now, ACTOR, kind, text, data)

    def _escalate(self, conn: Connection, incident_id: str, alert: Alert, event: Event) -> None:
        current = severity_of(conn, incident_id)
        self._note(conn, incident_id, alert, event)
        if event.severity is not None and event.severity < current:
            why = f"alert {alert.name} is now {event.level.name}: {event.summary}"
            self.incidents.change_severity_in(conn, incident_id, event.severity, why, ACTOR)

    def _note(
        self,
        conn: Connection,
        incident_id: str,
        alert: Alert,
        event: Event,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        body = _event_text(alert, event)
        data: dict[str, Any] = {
            "event": event.kind.value,
            "fingerprint": alert.fingerprint,
            "level": event.level.name,
            **event.data,
        }
        if evidence:
            data["evidence"] = evidence
            if "postgres" in evidence:
                body += "; " + snapshot_summary(evidence["postgres"])
        append_entry(conn, incident_id, event.at, ACTOR, EntryKind.ALERT, body, data)

    def _auto_resolve(
        self, conn: Connection, alert: Alert, rule: Rule, now: datetime, notices: list[Notice]
    ) -> Alert:
        if (
            rule.auto_resolve is None
            or alert.state is not AlertState.INACTIVE
            or alert.incident_id is None
            or alert.resolved_at is None
            or (now - alert.resolved_at).total_seconds() < rule.auto_resolve
        ):
            return alert
        if self.incidents.is_open_in(conn, alert.incident_id):
            why = (
                f"auto-resolved: {alert.name} has been OK for {format_duration(rule.auto_resolve)}"
            )
            self.incidents.resolve_in(conn, alert.incident_id, why, ACTOR)
            notices.append(Notice(alert.fingerprint, f"{alert.name}: {alert.incident_id} {why}"))
        return replace(alert, incident_id=None)

    def _evidence(self, result: Result, events: Sequence[Event]) -> dict[str, Any]:
        evidence: dict[str, Any] = {"result": result_evidence(result)}
        check = self.checks.get(result.name)
        if isinstance(check, PostgresCheck):
            evidence["postgres"] = postgres_snapshot(check, self.redact)
        elif isinstance(check, ContainerCheck):
            evidence["containers"] = container_snapshot(check, self.redact)
        return evidence


def _event_text(alert: Alert, event: Event) -> str:
    if event.kind is EventKind.FIRING:
        held = event.data.get("held_s")
        pending = f" after {format_duration(held)} pending" if held else ""
        return f"alert {alert.name} firing ({event.level.name}){pending}: {event.summary}"
    if event.kind is EventKind.RESOLVED:
        return f"alert {alert.name} resolved: {event.summary}"
    if event.kind is EventKind.ESCALATED:
        return f"alert {alert.name} escalated to {event.level.name}: {event.summary}"
    return f"alert {alert.name} {event.kind.value.replace('_', ' ')}: {event.summary}"


def _quiet(alert: Alert, events: Sequence[Event]) -> bool:
    """Nothing to suppress, open, resolve or note: the common case of a healthy check."""
    return (
        not events
        and alert.state is AlertState.INACTIVE
        and not alert.suppressed
        and alert.incident_id is None
    )


def _worth_saving(before: Alert | None, after: Alert) -> bool:
    """Everything but the bookkeeping timestamp: a steady OK check writes nothing."""
    if before is None:
        return after.state is not AlertState.INACTIVE or after.last_status is not None
    return replace(before, updated_at=None) != replace(after, updated_at=None)
