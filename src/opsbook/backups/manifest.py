"""The manifest stored beside every backup: what it holds and how to prove a restore of it.

A backup exists (is listed, can be verified, restored or pruned) only once its manifest is
stored, and the manifest is written last: whatever lacks one is an unfinished run.
"""

from __future__ import annotations

import enum
import re
import secrets
from datetime import UTC, datetime
from typing import Any

import msgspec

from opsbook.errors import BackupError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Every name that becomes part of a path or an object key: a source, a backup ID, a file.
# No separators, no leading dot (so no "." or ".."), bounded.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def safe_name(name: str, what: str) -> str:
    """``name`` if it can be a path component, else a BackupError naming what it was."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise BackupError(f"{what} {str(name)[:80]!r} is not a valid name (letters, digits, "
                          "'_', '.', '-'; no path separators)")  # fmt: skip
    return name


class EncryptionMode(enum.StrEnum):
    RECIPIENTS = "recipients"  # age public keys: this machine cannot read its own backups
    PASSPHRASE = "passphrase"  # noqa: S105  data key wrapped with an age passphrase (scrypt)
    NONE = "none"


class Artifact(msgspec.Struct, frozen=True, kw_only=True):
    """One stored object of a backup: the dump, the globals, a tarball."""

    name: str  # "dump", "globals", "rdb", "files"
    file: str  # object name inside the backup's directory / prefix
    format: str  # custom, directory-tar, sql, rdb, tar
    raw_bytes: int  # before compression
    stored_bytes: int  # compressed and encrypted: what the repository holds
    sha256: str  # of the stored bytes


class TableStat(msgspec.Struct, frozen=True, kw_only=True):
    """Read in the dump's own snapshot, so a restore must reproduce it exactly."""

    schema: str
    table: str
    rows: int
    maxima: dict[str, str | None] = {}  # timestamp column -> max, ISO text


class Encryption(msgspec.Struct, frozen=True, kw_only=True):
    mode: EncryptionMode
    fingerprints: tuple[str, ...] = ()  # of the recipients' public keys
    wrapped_key: str | None = None  # passphrase mode: the data identity, age-scrypt, base64


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    format_version: int = FORMAT_VERSION
    id: str
    source: str
    kind: str  # postgres, redis, files
    target: str  # masked
    started_at: datetime
    finished_at: datetime
    encryption: Encryption
    compression: str  # "zstd-3"
    artifacts: tuple[Artifact, ...]
    database: str | None = None
    server_version: str | None = None
    tool_version: str | None = None
    snapshot: str | None = None
    tables: tuple[TableStat, ...] = ()
    details: dict[str, Any] = {}
    signed_by: str | None = None  # ed25519:… of the key that signed it (backups/signing.py)
    signature: str | None = None

    @property
    def raw_bytes(self) -> int:
        return sum(a.raw_bytes for a in self.artifacts)

    @property
    def stored_bytes(self) -> int:
        return sum(a.stored_bytes for a in self.artifacts)

    @property
    def checksum(self) -> str:
        """The main artifact's SHA-256 (the first one)."""
        return self.artifacts[0].sha256 if self.artifacts else ""

    def artifact(self, name: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.name == name), None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self)
        data["raw_bytes"] = self.raw_bytes
        data["stored_bytes"] = self.stored_bytes
        data["checksum"] = self.checksum
        return data


def encode(manifest: Manifest) -> bytes:
    return msgspec.json.format(msgspec.json.encode(manifest.to_json()), indent=2) + b"\n"


def decode(data: bytes, where: str, *, source: str, backup_id: str) -> Manifest:
    """A manifest found at ``<source>/<backup_id>/``: it must name that place, and every name
    in it must be safe as a path component, or it is refused (a repository writer must not be
    able to steer a restore or a prune anywhere else)."""
    try:
        raw = msgspec.json.decode(data)
        if isinstance(raw, dict):
            for key in ("raw_bytes", "stored_bytes", "checksum"):  # derived, written for readers
                raw.pop(key, None)
        manifest = msgspec.convert(raw, Manifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BackupError(f"{where}: unreadable manifest ({exc})") from None
    try:
        safe_name(manifest.id, "backup ID")
        safe_name(manifest.source, "source")
        files = [safe_name(a.file, "artifact file") for a in manifest.artifacts]
    except BackupError as exc:
        raise BackupError(f"{where}: manifest refused: {exc}") from None
    if (manifest.source, manifest.id) != (source, backup_id):
        raise BackupError(
            f"{where}: manifest refused: it names {manifest.source}/{manifest.id}, "
            f"not the place it was found in"
        )
    if MANIFEST in files or len(set(files)) != len(files):
        raise BackupError(f"{where}: manifest refused: artifact file names clash")
    return manifest


def new_id(source: str, at: datetime | None = None) -> str:
    """Sortable by time first, then readable: 20261129T021500Z-db-3f9a."""
    when = (at or datetime.now(UTC)).astimezone(UTC)
    return f"{when:%Y%m%dT%H%M%SZ}-{source}-{secrets.token_hex(2)}"
