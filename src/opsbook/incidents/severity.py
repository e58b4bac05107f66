"""The severity policy: the runbook's four levels, as opsbook.yaml may redefine them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from opsbook.config.severities import SeverityConfig
from opsbook.errors import UsageError
from opsbook.incidents.model import severity_label


@dataclass(frozen=True)
class Severity:
    level: int
    name: str
    definition: str
    response: float  # seconds to respond (acknowledge) within
    communication: str  # who is told
    escalation: str

    @property
    def label(self) -> str:
        return severity_label(self.level)


RUNBOOK_SEVERITIES = (
    Severity(
        1,
        "Critical",
        "Complete system outage, data loss, or security breach",
        15 * 60,
        "All stakeholders notified immediately",
        "On-call engineer + management",
    ),
    Severity(
        2,
        "High",
        "Major functionality degraded, performance issues affecting users",
        3600,
        "Engineering team + product owners",
        "On-call engineer",
    ),
    Severity(
        3,
        "Medium",
        "Minor functionality issues, monitoring alerts",
        4 * 3600,
        "Engineering team",
        "Next business day if unresolved",
    ),
    Severity(
        4,
        "Low",
        "Cosmetic issues, informational alerts",
        24 * 3600,
        "Internal engineering",
        "Weekly review",
    ),
)


@dataclass(frozen=True)
class SeverityPolicy:
    levels: tuple[Severity, ...]

    @classmethod
    def from_config(cls, overrides: Mapping[int, SeverityConfig]) -> SeverityPolicy:
        levels = []
        for default in RUNBOOK_SEVERITIES:
            o = overrides.get(default.level)
            if o is None:
                levels.append(default)
                continue
            levels.append(
                replace(
                    default,
                    name=o.name or default.name,
                    definition=o.definition or default.definition,
                    response=float(o.response) if o.response else default.response,
                    communication=o.communication or default.communication,
                    escalation=o.escalation or default.escalation,
                )
            )
        return cls(tuple(levels))

    def get(self, level: int) -> Severity:
        for severity in self.levels:
            if severity.level == level:
                return severity
        raise UsageError(f"unknown severity {level}; expected 1, 2, 3 or 4 (SEV-1 … SEV-4)")


def parse_severity(text: str) -> int:
    """``1``, ``SEV-1``, ``sev1`` → 1."""
    cleaned = text.strip().upper().removeprefix("SEV").lstrip("-")
    if cleaned in {"1", "2", "3", "4"}:
        return int(cleaned)
    raise UsageError(f"unknown severity {text!r}; expected 1, 2, 3 or 4 (or SEV-1 … SEV-4)")
