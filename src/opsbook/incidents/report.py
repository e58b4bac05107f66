"""The post-incident report: the runbook's template, filled from the record.

Times, durations and the severity history come from the timeline; what only people can
write (impact, root cause, lessons…) shows as a clearly marked gap until
``opsbook incident edit`` fills it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from opsbook.incidents.clocks import Response, response_state
from opsbook.incidents.model import (
    HUMAN_FIELDS,
    ActionItem,
    Entry,
    EntryKind,
    Incident,
    severity_label,
)
from opsbook.incidents.severity import SeverityPolicy
from opsbook.timefmt import human
from opsbook.units import format_duration

# report field → its `opsbook incident edit` option
_FLAG = {name: "--" + name.replace("_", "-") for name in HUMAN_FIELDS}


def _gap(incident: Incident, field: str) -> str:
    return (
        f'> **To fill in:** `opsbook incident edit {incident.id} {_FLAG[field]} "…"` '
        "(or `opsbook incident edit " + incident.id + "` to write it in $EDITOR)"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _field(incident: Incident, field: str) -> str:
    value = incident.fields.get(field)
    return value.strip() if value and value.strip() else _gap(incident, field)


def render_markdown(
    incident: Incident,
    entries: Sequence[Entry],
    actions: Sequence[ActionItem],
    policy: SeverityPolicy,
    tz: tzinfo,
    now: datetime,
) -> str:
    report = _Report(incident, entries, actions, policy, tz, now)
    lines = [f"# Incident Report: {incident.id}", "", report.headline(), ""]
    lines += ["## Summary", "", _field(incident, "summary"), ""]
    lines += ["## Timeline", "", *report.timeline(), ""]
    lines += ["## Impact", "", *report.impact(), ""]
    lines += ["## Root Cause", "", _field(incident, "root_cause"), ""]
    lines += ["## Resolution", "", report.resolution(), ""]
    lines += ["## Prevention", "", _field(incident, "prevention"), "", *report.actions(), ""]
    lines += ["## Lessons Learned", "", _field(incident, "lessons"), ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class _Report:
    incident: Incident
    entries: Sequence[Entry]
    action_items: Sequence[ActionItem]
    policy: SeverityPolicy
    tz: tzinfo
    now: datetime

    def t(self, at: datetime | None) -> str:
        return human(at, self.tz) if at else "—"

    def _first(self, kind: EntryKind) -> Entry | None:
        return next((e for e in self.entries if e.kind is kind), None)

    @property
    def final_resolution(self) -> Entry | None:
        resolved = [e for e in self.entries if e.kind is EntryKind.RESOLVED]
        return resolved[-1] if resolved and self.incident.resolved_at else None

    @property
    def first_level(self) -> int:
        opened = self._first(EntryKind.OPENED)
        return (
            int(opened.data.get("severity", self.incident.severity))
            if opened
            else (self.incident.severity)
        )

    @property
    def severity_changes(self) -> list[Entry]:
        return [e for e in self.entries if e.kind is EntryKind.SEVERITY]

    def headline(self) -> str:
        i = self.incident
        severity = self.policy.get(i.severity)
        head = f"**{i.title}** · {severity.label} ({severity.name})"
        if self.severity_changes:
            head += f", opened as {severity_label(self.first_level)}"
        head += f" · service {i.service} · {i.phase.value}"
        return head + (f" · commander {i.commander}" if i.commander else "")

    def timeline(self) -> list[str]:
        i = self.incident
        opened = self._first(EntryKind.OPENED)
        ack = self._first(EntryKind.ACKNOWLEDGED)
        final = self.final_resolution
        target = self.policy.get(i.severity).response
        lines = [
            f"- **Detection**: {self.t(i.opened_at)} - opened by "
            f"{opened.actor if opened else i.opened_by} as {severity_label(self.first_level)}: "
            f"{i.title}"
        ]
        if ack is not None:
            took = format_duration((ack.at - i.opened_at).total_seconds())
            met = response_state(i, self.policy, self.now) is Response.MET
            lines.append(
                f"- **Response**: {self.t(ack.at)} - {ack.body} by {ack.actor}, {took} after "
                f"detection (target {format_duration(target)}: {'met' if met else 'missed'})"
            )
        else:
            lines.append(f"- **Response**: not acknowledged yet (due {self.t(i.response_due_at)})")
        if final is not None:
            took = format_duration((final.at - i.opened_at).total_seconds())
            why = str(final.data.get("why", "")).strip()
            lines.append(
                f"- **Resolution**: {self.t(final.at)} - resolved by {final.actor}"
                + (f": {why}" if why else "")
                + f" ({took} after detection)"
            )
        else:
            lines.append("- **Resolution**: not resolved yet")
        zone_name = _zone_name(self.tz, i.opened_at)
        lines += ["", f"| Time ({zone_name}) | Who | What |", "|---|---|---|"]
        day = None
        for entry, receipts in _grouped(self.entries):
            local = entry.at.astimezone(self.tz)
            # to the second (pages go out seconds apart); the date only when it changes
            stamp = local.strftime("%H:%M:%S" if local.date() == day else "%Y-%m-%d %H:%M:%S")
            day = local.date()
            what = _entry_text(entry)
            if receipts:
                what += " · delivered: " + ", ".join(receipts)
            lines.append(f"| {stamp} | {_cell(entry.actor)} | {_cell(what)} |")
        return lines

    def impact(self) -> list[str]:
        i = self.incident
        end = i.resolved_at or self.now
        duration = format_duration((end - i.opened_at).total_seconds())
        until = "resolution)" if i.resolved_at else "now; still open)"
        lines = [
            f"- **Users Affected**: {_inline(i, 'users_affected')}",
            f"- **Duration**: {duration} (detection to {until}",
            f"- **Business Impact**: {_inline(i, 'business_impact')}",
        ]
        if self.severity_changes:
            history = "; ".join(
                f"{e.body} ({self.t(e.at)}, {e.actor})" for e in self.severity_changes
            )
            lines.append(f"- **Severity history**: {history}")
        return lines

    def resolution(self) -> str:
        written = self.incident.fields.get("resolution")
        if written and written.strip():
            return written.strip()
        final = self.final_resolution
        if final is not None and final.data.get("why"):
            return str(final.data["why"]).strip()
        return _gap(self.incident, "resolution")

    def actions(self) -> list[str]:
        if not self.action_items:
            return [f'No action items yet: `opsbook incident action add {self.incident.id} "…"`.']
        lines = ["| # | Action | Kind | Owner | Due | Status |", "|---|---|---|---|---|---|"]
        for a in self.action_items:
            due = a.due.isoformat() if a.due else "—"
            lines.append(
                f"| {a.id} | {_cell(a.text)} | {a.kind.value} | {_cell(a.owner or '—')} | "
                f"{due} | {_action_status(a, self.now.date())} |"
            )
        return lines


def _inline(incident: Incident, field: str) -> str:
    value = incident.fields.get(field)
    if value and value.strip():
        return _cell(value)
    return f'**to fill in** (`opsbook incident edit {incident.id} {_FLAG[field]} "…"`)'


def _action_status(item: ActionItem, today: date) -> str:
    if item.done_at is not None:
        return f"done {item.done_at:%Y-%m-%d} ({item.done_by})"
    if item.due is not None and item.due < today:
        return "**overdue**"
    return "open"


def _grouped(entries: Sequence[Entry]) -> list[tuple[Entry, list[str]]]:
    """Each entry with the delivery receipts that followed it folded in ("email to alice via
    mail, 3 s"): half the rows of a timeline were receipts for the page above them. A
    delivery that failed keeps its own row."""
    rows: list[tuple[Entry, list[str]]] = []
    for entry in entries:
        delivered = entry.kind is EntryKind.DELIVERY and entry.data.get("status") == "delivered"
        if delivered and rows:
            sent = rows[-1][0].at
            what = entry.body.split(" delivered (", 1)[0]
            rows[-1][1].append(f"{what} (+{format_duration((entry.at - sent).total_seconds())})")
            continue
        rows.append((entry, []))
    return rows


def _entry_text(entry: Entry) -> str:
    if entry.kind is EntryKind.NOTE:
        return f"note: {entry.body}"
    if entry.kind is EntryKind.EDITED:
        return f"report: {entry.body}"
    return entry.body


def _zone_name(tz: tzinfo, at: datetime) -> str:
    key = getattr(tz, "key", None)
    return str(key) if key else at.astimezone(tz).strftime("%Z")


def render_body(markdown: str) -> str:
    """The report's HTML (raw HTML in the text is escaped, not passed through)."""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown))


def render_html(markdown: str, title: str) -> str:
    """One self-contained page (no external assets) from the Markdown report."""
    from html import escape

    body = render_body(markdown)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>"
        "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "color:#1b1f23}table{border-collapse:collapse;width:100%;margin:1rem 0}"
        "th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}"
        "th{background:#f6f8fa}blockquote{margin:0;padding:.4rem .8rem;border-left:4px solid "
        "#d4a72c;background:#fff8c5}code{background:#f6f8fa;padding:0 .2rem}"
        "</style></head><body>\n" + body + "</body></html>\n"
    )
