"""What a built-in action hands back: a status (its exit code, as a Nagios plugin's), one
line of summary, findings, figures, and a markdown report for people (the job's notify:)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from opsbook.status import Status, worst


class Area(enum.StrEnum):
    LOGS = "logs"
    PACKAGES = "packages"
    KERNEL = "kernel"
    IMAGES = "images"
    TREE = "tree"
    SECRETS = "secrets"
    DATABASE = "database"
    BACKUPS = "backups"
    TOOLS = "tools"
    CAPACITY = "capacity"
    CHECKS = "checks"
    TLS = "tls"
    NETWORK = "network"
    ACCESS = "access"


@dataclass(frozen=True)
class Finding:
    status: Status
    area: Area
    title: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.name,
            "area": self.area.value,
            "title": self.title,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ActionReport:
    action: str
    summary: str
    findings: tuple[Finding, ...] = ()
    figures: dict[str, Any] = field(default_factory=dict)  # numbers reports compare
    notes: tuple[str, ...] = ()  # what could not be looked at, said once
    report: str = ""  # markdown for people
    base: Status = Status.OK
    advisory: bool = False  # its findings inform; its status is the base's alone

    @property
    def status(self) -> Status:
        if self.advisory:
            return self.base
        return worst([self.base, *(f.status for f in self.findings)])

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "status": self.status.name,
            "summary": self.summary,
            "findings": [f.to_json() for f in self.findings],
            "figures": self.figures,
            "notes": list(self.notes),
            "report": self.report,
        }


def markdown(title: str, report: ActionReport, sections: list[tuple[str, list[str]]]) -> str:
    """The report people read: a heading, the summary, the problems first, then sections."""
    lines = [f"# {title}", "", f"**{report.status.name}**: {report.summary}", ""]
    problems = [f for f in report.findings if f.status is not Status.OK]
    if problems:
        lines += ["## Needs attention", ""]
        lines += [
            f"- **{f.status.name}** {f.title}" + (f": {f.detail}" if f.detail else "")
            for f in problems
        ]
        lines.append("")
    for heading, body in sections:
        if body:
            lines += [f"## {heading}", "", *body, ""]
    if report.notes:
        lines += ["## Not looked at", "", *(f"- {n}" for n in report.notes), ""]
    return "\n".join(lines)
