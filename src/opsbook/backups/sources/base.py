"""What every source gives the runner: its streams (through ``emit``) and what it learnt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from opsbook.backups.manifest import TableStat


class Emit(Protocol):
    """Store one stream as an artifact of the backup (compressed, encrypted, checksummed)."""

    def __call__(self, name: str, file: str, fmt: str, stream: BinaryIO) -> None: ...


@dataclass(frozen=True)
class Captured:
    target: str  # masked
    database: str | None = None
    server_version: str | None = None
    tool_version: str | None = None
    snapshot: str | None = None
    tables: tuple[TableStat, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
