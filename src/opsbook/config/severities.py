"""The ``severities:`` section: overrides of the runbook's four severity levels."""

from __future__ import annotations

import msgspec

from opsbook.config.types import Duration

SEVERITY_KEYS = {f"SEV-{n}": n for n in range(1, 5)}


class SeverityConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Any field left out keeps the runbook's default."""

    name: str | None = None
    definition: str | None = None
    response: Duration | None = None  # respond within this long
    communication: str | None = None  # who is told
    escalation: str | None = None

    def __post_init__(self) -> None:
        if self.response is not None and self.response <= 0:
            raise ValueError("response: expected a duration greater than zero")
