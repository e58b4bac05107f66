"""Every published backup, across repositories: one entry per ID, with where it is."""

from __future__ import annotations

from dataclasses import dataclass

from opsbook.backups.manifest import Manifest, decode
from opsbook.backups.repos import open_repository
from opsbook.backups.repos.base import Repository
from opsbook.config.backups import Backups
from opsbook.errors import BackupError, UsageError


@dataclass(frozen=True)
class Entry:
    manifest: Manifest
    repos: tuple[str, ...]  # where a copy is published, in configuration order

    @property
    def id(self) -> str:
        return self.manifest.id


def repositories(backups: Backups, names: tuple[str, ...] | None = None) -> list[Repository]:
    chosen = names if names is not None else tuple(backups.repositories)
    for name in chosen:
        if name not in backups.repositories:
            known = ", ".join(backups.repositories) or "none"
            raise UsageError(f"no repository named {name!r} (repositories: {known})")
    return [open_repository(n, backups.repositories[n]) for n in chosen]


def catalog(backups: Backups, *, source: str | None = None, repo: str | None = None) -> list[Entry]:
    """Oldest first. A repository that cannot be read is an error, not an empty list."""
    if source is not None and source not in backups.sources:
        known = ", ".join(backups.sources) or "none"
        raise UsageError(f"no backup source named {source!r} (sources: {known})")
    found: dict[str, tuple[Manifest, list[str]]] = {}
    for repository in repositories(backups, (repo,) if repo else None):
        for located in repository.published():
            if source is not None and located.source != source:
                continue
            if located.backup_id in found:
                found[located.backup_id][1].append(located.repo)
                continue
            where = f"{repository.describe()} {located.source}/{located.backup_id}"
            manifest = decode(located.manifest, where, source=located.source,
                              backup_id=located.backup_id)  # fmt: skip
            found[located.backup_id] = (manifest, [located.repo])
    entries = [Entry(m, tuple(r)) for m, r in found.values()]
    return sorted(entries, key=lambda e: (e.manifest.started_at, e.id))


def find(
    backups: Backups, ref: str, *, source: str | None = None, repo: str | None = None
) -> Entry:
    """``latest``, a full ID, or an unambiguous prefix of one."""
    entries = catalog(backups, source=source, repo=repo)
    if ref == "latest":
        if not entries:
            scope = f" of {source}" if source else ""
            raise BackupError(f"no backups{scope} yet: run opsbook backup run")
        return entries[-1]
    exact = [e for e in entries if e.id == ref]
    if exact:
        return exact[0]
    matches = [e for e in entries if e.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no backup {ref!r}; opsbook backup list shows them")
    raise UsageError(f"{ref!r} matches {len(matches)} backups; give more of the ID")
