"""What every diagnostic returns: sections of rows, notes for the reader, and one line with a
status (which is what a `pgdiag` check in opsbook check reports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from opsbook.status import Status, worst


@dataclass
class Report:
    name: str
    target: str
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    findings: list[tuple[Status, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def find(self, status: Status, text: str) -> None:
        self.findings.append((status, text))

    @property
    def status(self) -> Status:
        return worst(s for s, _ in self.findings)

    @property
    def summary(self) -> str:
        bad = [t for s, t in self.findings if s is not Status.OK]
        good = [t for s, t in self.findings if s is Status.OK]
        return "; ".join(bad or good[:3]) or "nothing to report"

    def to_json(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "target": self.target,
            "status": self.status.name,
            "summary": self.summary,
            **{k: plain(v) for k, v in self.facts.items()},
            **{k: [plain(r) for r in rows] for k, rows in self.sections.items()},
            "notes": self.notes,
        }


def plain(value: Any) -> Any:
    """JSON-friendly: intervals in seconds, times in ISO 8601, decimals as floats."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, timedelta):
        return round(value.total_seconds(), 3)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def mask_query(text: str | None) -> str:
    """Query text as shown: one line, the literal after PASSWORD masked (lexed, not matched)."""
    from opsbook.postgres.sqltext import without_passwords

    return without_passwords(text)
