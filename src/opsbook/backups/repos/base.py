"""What a repository does. A backup lives at ``<source>/<id>/`` and is published by storing
its manifest last, atomically: until then no listing shows it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Located:
    """A published backup's manifest, and where it lives."""

    repo: str
    source: str
    backup_id: str
    manifest: bytes


class Writer(Protocol):
    def write(self, data: bytes) -> int: ...


class Staging(Protocol):
    """One backup being written. ``publish`` makes it visible; ``abort`` removes every trace."""

    def open(self, file: str) -> Writer: ...

    def close_file(self, file: str) -> None: ...

    def publish(self, manifest: bytes) -> None: ...

    def abort(self) -> None: ...


class Repository(Protocol):
    name: str

    def describe(self) -> str: ...

    def begin(self, source: str, backup_id: str) -> Staging: ...

    def published(self) -> Iterator[Located]: ...

    def open_file(self, source: str, backup_id: str, file: str) -> Any: ...

    def delete(self, source: str, backup_id: str) -> None: ...

    def clean_stale(self) -> list[str]: ...
