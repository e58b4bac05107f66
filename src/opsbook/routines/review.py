"""The runbook's weekly and monthly reviews, built from the records the way `incident report`
builds a post-incident report: incidents and their clocks per severity (and the SEV-4s the
runbook sends to the weekly review), each check's uptime, the calendar's runs (the weekly
maintenance digest, the security review, the restore drill, the capacity forecast),
backups, and the action items still open. Markdown with tables, so it reads in chat, mail and
a browser (--format html).
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from opsbook.routines.model import ActionReport, Area, Finding, markdown
from opsbook.status import Status
from opsbook.timefmt import human
from opsbook.units import format_duration

if TYPE_CHECKING:
    from opsbook.config.loader import LoadedConfig


class Period(enum.StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    @property
    def days(self) -> int:
        return 7 if self is Period.WEEKLY else 30


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    clean = [[c.replace("|", "\\|").replace("\n", " ") for c in r] for r in rows]
    return [
        f"| {' | '.join(header)} |",
        f"|{'---|' * len(header)}",
        *(f"| {' | '.join(r)} |" for r in clean),
    ]


def _duration(seconds: float | None) -> str:
    return format_duration(seconds) if seconds is not None else "–"


def build(
    loaded: LoadedConfig,
    engine: Engine,
    now: datetime,
    period: Period,
    forecasts: list[Finding] | None = None,
) -> ActionReport:
    """``forecasts``: the capacity review's lines, for the monthly review."""
    from opsbook.timefmt import zone

    tz = zone(loaded.config.timezone)
    since = now - timedelta(days=period.days)
    incident_sections, figures, findings = _incidents(loaded, engine, since, now)
    uptime, flaky = _uptime(loaded, engine, since)
    job_lines = _jobs(engine, since, tz)
    backup_rows = _backups(engine, since)
    items = _action_items(engine, now, tz)
    findings += [Finding(Status.WARNING, Area.CHECKS, f"{c}: {u:.2%} uptime") for c, u in flaky]
    title = (
        f"{loaded.config.service}: {period.value} review, {human(since, tz)} to {human(now, tz)}"
    )
    summary = (
        f"{figures['opened']} incident(s) opened, {figures['resolved']} resolved; "
        f"{len(flaky)} check(s) under 99.9 % uptime; {len(items)} open action item(s)"
    )
    figures.update(checks_under_slo=len(flaky), open_action_items=len(items))
    sections = [
        *incident_sections,
        ("Checks: uptime", _table(["check", "uptime", "results", "not OK periods"], uptime)),
        ("Calendar jobs", _table(["job", "runs", "last", "status", "summary"], job_lines)),
        (
            "Backups",
            _table(["source", "backups", "failed", "verified", "verify failed"], backup_rows),
        ),
        ("Open action items", _table(["incident", "item", "owner", "due"], items)),
    ]
    if forecasts is not None:
        sections.insert(1, ("Capacity", [f"- {f.title}" for f in forecasts]))
    draft = ActionReport(f"{period.value}-report", summary, tuple(findings), figures, advisory=True)
    return ActionReport(
        draft.action,
        summary,
        tuple(findings),
        figures,
        advisory=True,
        report=markdown(title, draft, sections),
    )


def _incidents(
    loaded: LoadedConfig, engine: Engine, since: datetime, now: datetime
) -> tuple[list[tuple[str, list[str]]], dict[str, Any], list[Finding]]:
    from opsbook.incidents.clocks import stats
    from opsbook.incidents.lifecycle import Incidents
    from opsbook.incidents.records import read_timeline
    from opsbook.incidents.severity import SeverityPolicy

    policy = SeverityPolicy.from_config(loaded.config.severities)
    found = Incidents(engine, policy).list(since=since - timedelta(days=90))
    opened = [i for i in found if i.opened_at >= since]
    resolved = [i for i in found if i.resolved_at is not None and i.resolved_at >= since]
    timelines = read_timeline(engine, [i.id for i in opened])
    rows = []
    for s in stats(opened, timelines, policy, now):
        share = "–" if s.acked_within_target is None else f"{s.acked_within_target:.0%}"
        rows.append(
            [
                f"SEV-{s.severity}",
                str(s.count),
                _duration(s.mtta_median),
                _duration(s.mttr_median),
                share,
                str(s.open_breaches),
            ]
        )
    listed = [[i.id, f"SEV-{i.severity}", i.phase.value, i.title] for i in reversed(opened)]
    sev4 = [[i.id, i.phase.value, i.title] for i in opened if i.severity == 4]
    findings = [
        Finding(Status.WARNING, Area.CHECKS, f"{i.id} SEV-{i.severity} still open: {i.title}")
        for i in found
        if i.is_open and i.severity <= 2
    ]
    sections = [
        (
            "Incidents by severity",
            _table(
                [
                    "severity",
                    "opened",
                    "MTTA (median)",
                    "MTTR (median)",
                    "acked in time",
                    "open breaches",
                ],
                rows,
            ),
        ),
        ("Incidents", _table(["id", "severity", "phase", "title"], listed)),
        ("SEV-4 for review", _table(["id", "phase", "title"], sev4)),
    ]
    figures = {
        "opened": len(opened),
        "resolved": len(resolved),
        "by_severity": {
            f"SEV-{s}": sum(1 for i in opened if i.severity == s) for s in (1, 2, 3, 4)
        },
    }
    return sections, figures, findings


def _uptime(
    loaded: LoadedConfig, engine: Engine, since: datetime
) -> tuple[list[list[str]], list[tuple[str, float]]]:
    from opsbook.alerts.history import read_history

    rows, flaky = [], []
    for name in loaded.config.checks:
        history = read_history(engine, name, since)
        if history.uptime is None:
            continue
        bad = sum(1 for p in history.periods if p.status is not Status.OK)
        rows.append([name, f"{history.uptime:.3%}", str(history.total), str(bad)])
        if history.uptime < 0.999:
            flaky.append((name, history.uptime))
    return rows, flaky


def _jobs(engine: Engine, since: datetime, tz: Any) -> list[list[str]]:
    from opsbook.jobs import records

    recent = [r for r in records.runs(engine, limit=1000) if r.started_at >= since]
    out = []
    for name in sorted({r.job for r in recent}):
        mine = [r for r in recent if r.job == name]
        last = mine[0]
        bad = sum(1 for r in mine if r.status not in (Status.OK, None))
        status = last.status.name if last.status is not None else "RUNNING"
        out.append(
            [
                name,
                f"{len(mine)}" + (f" ({bad} not OK)" if bad else ""),
                human(last.started_at, tz),
                status,
                last.summary,
            ]
        )
    return out


def _backups(engine: Engine, since: datetime) -> list[list[str]]:
    from opsbook.backups import records
    from opsbook.backups.records import EventKind

    recent = [e for e in records.events(engine, limit=5000) if e.started_at >= since]
    out = []
    for source in sorted({e.source for e in recent}):
        mine = [e for e in recent if e.source == source]
        made = [e for e in mine if e.kind is EventKind.BACKUP]
        checked = [e for e in mine if e.kind is EventKind.VERIFY]
        out.append(
            [
                source,
                str(len(made)),
                str(sum(not e.ok for e in made)),
                str(len(checked)),
                str(sum(not e.ok for e in checked)),
            ]
        )
    return out


def _action_items(engine: Engine, now: datetime, tz: Any) -> list[list[str]]:
    from opsbook.incidents.records import ActionItems, is_overdue

    today = now.astimezone(tz).date()
    return [
        [
            i.incident_id,
            i.text,
            i.owner or "nobody",
            f"{i.due}{' (OVERDUE)' if is_overdue(i, today) else ''}" if i.due else "–",
        ]
        for i in ActionItems(engine).list(open_only=True)
    ]
