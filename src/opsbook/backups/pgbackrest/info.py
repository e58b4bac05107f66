"""What pgBackRest holds for a stanza (``pgbackrest info --output=json``): its backups, each
with its WAL range, and the archived WAL, read into frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsbook.backups.pgbackrest.command import run
from opsbook.backups.pgbackrest.conf import Layout
from opsbook.errors import BackupError


@dataclass(frozen=True)
class PhysicalBackup:
    label: str  # 20261203-034815F, …_20261203-034819I
    kind: str  # full, diff, incr
    started_at: datetime
    finished_at: datetime
    size: int  # the cluster's bytes
    stored: int  # bytes in the repository (compressed)
    delta: int  # bytes this backup copied
    wal_start: str
    wal_stop: str
    prior: str | None
    repo: int  # repoN


@dataclass(frozen=True)
class StanzaInfo:
    stanza: str
    status: str  # "ok" or pgBackRest's message
    backups: tuple[PhysicalBackup, ...]  # oldest first
    wal_min: str | None  # the oldest archived segment
    wal_max: str | None  # the newest
    cipher: str
    archived_until: datetime | None = None  # from the cluster (pg_stat_archiver), when asked

    @property
    def earliest_recoverable(self) -> datetime | None:
        """The end of the oldest backup: no moment before it can be restored."""
        return self.backups[0].finished_at if self.backups else None


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def parse(text: str) -> StanzaInfo:
    try:
        [stanza] = json.loads(text)
        return StanzaInfo(
            stanza=stanza["name"],
            status=stanza["status"]["message"],
            backups=tuple(_backup(b) for b in stanza.get("backup", [])),
            wal_min=min((a["min"] for a in stanza.get("archive", []) if a.get("min")),
                        default=None),
            wal_max=max((a["max"] for a in stanza.get("archive", []) if a.get("max")),
                        default=None),
            cipher=stanza.get("cipher", "none"),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"pgbackrest info gave what opsbook cannot read: {exc}") from None


def _backup(b: dict[str, Any]) -> PhysicalBackup:
    return PhysicalBackup(
        label=b["label"], kind=b["type"], started_at=_at(b["timestamp"]["start"]),
        finished_at=_at(b["timestamp"]["stop"]), size=b["info"]["size"],
        stored=b["info"]["repository"].get("size", b["info"]["repository"].get("delta", 0)),
        delta=b["info"]["delta"], wal_start=b["archive"]["start"],
        wal_stop=b["archive"]["stop"], prior=b.get("prior"),
        repo=b.get("database", {}).get("repo-key", 1),
    )  # fmt: skip


def read(where: Layout, user: str) -> StanzaInfo:
    return parse(run(where, user, ["info", "--output=json"], timeout=300).stdout)
