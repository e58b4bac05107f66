"""The daily report (09:00 to a channel): the health check, what changed in the last day
(incidents opened and resolved, backups, job runs, checks that flapped), who is on call today,
and what is due this week (calendar jobs, action items).

It is advisory: its own status is OK once it is built, whatever it says (the checks it lists
alert by themselves; a report that paged for them would page twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from opsbook.routines.model import ActionReport, Area, Finding, markdown
from opsbook.status import Status
from opsbook.timefmt import human
from opsbook.units import format_duration

if TYPE_CHECKING:
    from opsbook.config.loader import LoadedConfig
    from opsbook.results import Result

DAY = timedelta(days=1)
FLAPPED = 3  # status changes in a day that make a check "flapped"


def health(loaded: LoadedConfig) -> list[Result]:
    from opsbook import aio
    from opsbook.checks.runner import run_checks

    return aio.run(run_checks(loaded.config.checks, loaded.redactor))


def perform(
    loaded: LoadedConfig, engine: Engine, now: datetime, results: list[Result]
) -> ActionReport:
    from opsbook.timefmt import zone

    tz = zone(loaded.config.timezone)
    since = now - DAY
    findings = [Finding(r.status, Area.CHECKS, f"{r.name}: {r.message}")
                for r in results if r.status is not Status.OK]  # fmt: skip
    check_lines = [f"- {r.name}: {r.status.name}, {r.message}" for r in results]
    incident_lines, opened, resolved = _incidents(engine, since, loaded.config.severities)
    flapped = _flapped(engine, list(loaded.config.checks), since)
    backup_lines = _backups(engine, since)
    job_lines = _jobs(engine, since)
    oncall = _on_call(loaded, engine, now, tz)
    due = _due(loaded, engine, now, tz)
    bad = len(findings)
    summary = (f"{len(results) - bad} of {len(results)} checks OK; {opened} incident(s) opened, "
               f"{resolved} resolved in the last day")  # fmt: skip
    if flapped:
        summary += f"; {len(flapped)} check(s) flapped"
    figures = {"checks": len(results), "checks_not_ok": bad, "opened": opened,
               "resolved": resolved, "flapped": sorted(flapped)}  # fmt: skip
    sections = [
        ("Health check", check_lines),
        ("Since yesterday", incident_lines + backup_lines + job_lines
         + [f"- {c} flapped: {n} status changes" for c, n in sorted(flapped.items())]),
        ("On call today", oncall),
        ("Due this week", due),
    ]  # fmt: skip
    draft = ActionReport("daily-report", summary, tuple(findings), figures, advisory=True)
    title = f"{loaded.config.service}: daily report, {human(now, tz)}"
    return ActionReport("daily-report", summary, tuple(findings), figures, advisory=True,
                        report=markdown(title, draft, sections))  # fmt: skip


def _incidents(
    engine: Engine, since: datetime, severities: dict[int, Any]
) -> tuple[list[str], int, int]:
    from opsbook.incidents.lifecycle import Incidents
    from opsbook.incidents.severity import SeverityPolicy

    found = Incidents(engine, SeverityPolicy.from_config(severities)).list(since=since - 90 * DAY)
    opened = [i for i in found if i.opened_at >= since]
    resolved = [i for i in found if i.resolved_at is not None and i.resolved_at >= since]
    lines = [f"- opened {i.id} SEV-{i.severity}: {i.title}" for i in reversed(opened)]
    lines += [f"- resolved {i.id} SEV-{i.severity} after "
              f"{format_duration((i.resolved_at - i.opened_at).total_seconds())}: {i.title}"
              for i in resolved if i.resolved_at is not None]  # fmt: skip
    still = [i for i in found if i.is_open]
    if still:
        lines.append(f"- open now: {', '.join(f'{i.id} (SEV-{i.severity})' for i in still)}")
    return lines, len(opened), len(resolved)


def _flapped(engine: Engine, checks: list[str], since: datetime) -> dict[str, int]:
    from opsbook.alerts.history import read_history

    out = {}
    for name in checks:
        changes = len(read_history(engine, name, since).periods) - 1
        if changes >= FLAPPED:
            out[name] = changes
    return out


def _backups(engine: Engine, since: datetime) -> list[str]:
    from opsbook.backups import records
    from opsbook.backups.records import EventKind

    recent = [e for e in records.events(engine, limit=500) if e.started_at >= since]
    lines = []
    for kind in (EventKind.BACKUP, EventKind.VERIFY):
        of_kind = [e for e in recent if e.kind is kind]
        if of_kind:
            failed = [e for e in of_kind if not e.ok]
            said = f"- {kind.value}s: {len(of_kind) - len(failed)} ok"
            if failed:
                said += f", {len(failed)} FAILED ({failed[0].source}: {failed[0].detail})"
            lines.append(said)
    return lines


def _jobs(engine: Engine, since: datetime) -> list[str]:
    from opsbook.jobs import records

    recent = [r for r in records.runs(engine, limit=200) if r.started_at >= since]
    bad = [r for r in recent if r.status not in (Status.OK, None)]
    if not recent:
        return []
    line = f"- calendar jobs: {len(recent)} run(s)"
    if bad:
        said = [f"{r.job} {getattr(r.status, 'name', '')}: {r.summary}" for r in bad[:5]]
        line += "; not OK: " + "; ".join(said)
    return [line]


def _on_call(loaded: LoadedConfig, engine: Engine, now: datetime, tz: tzinfo) -> list[str]:
    from opsbook.paging.overrides import Overrides
    from opsbook.paging.schedule import layers_of, on_call

    paging = loaded.config.paging
    overrides = Overrides(engine).active(since=now, until=now + DAY)
    lines = []
    for name, schedule in paging.schedules.items():
        for layer in layers_of(name, schedule, loaded.config.timezone):
            shift = on_call(layer, now, overrides)
            label = name if layer.name == name else f"{name}/{layer.name}"
            if shift.person is None:
                lines.append(f"- {label}: nobody now")
                continue
            after = on_call(layer, shift.end, overrides) if shift.end > now else None
            nxt = f", then {after.person}" if after is not None and after.person else ""
            lines.append(f"- {label}: {shift.person} until {human(shift.end, tz)}{nxt}")
    return lines or ["- no schedules: configure who is on call (schedules:)"]


def _due(loaded: LoadedConfig, engine: Engine, now: datetime, tz: tzinfo) -> list[str]:
    from opsbook.incidents.records import ActionItems
    from opsbook.jobs.calendar import next_fire

    lines: list[tuple[Any, str]] = []
    week = now + 7 * DAY
    for name, job in loaded.config.jobs.items():
        at = next_fire(job.schedule, now, job.timezone or loaded.config.timezone)
        if at <= week:
            lines.append((at, f"- {human(at, tz)}: job {name} ({job.action_kind.value})"))
    items = ActionItems(engine).list(open_only=True)
    today = now.astimezone(tz).date()
    for item in items:
        if item.due is not None and item.due <= (week.astimezone(tz)).date():
            late = " (OVERDUE)" if item.due < today else ""
            owner = item.owner or "nobody"
            when = datetime.combine(item.due, datetime.min.time(), tzinfo=tz)
            lines.append((when, f"- {item.due}{late}: {item.text} ({item.incident_id}, {owner})"))
    return [text for _, text in sorted(lines, key=lambda x: x[0])]
