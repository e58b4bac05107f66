"""Proving a backup by restoring it: the runbook's monthly test, after every backup.

PostgreSQL: fetch, check the checksum, decrypt, pg_restore into a scratch database with a
generated name on the verification server (``verify_dsn``, default the source's own),
compare every table's row count and timestamp maxima with the manifest, and drop the
scratch database whatever happened. Redis and file backups are fetched, decrypted and
decompressed in full, checksummed, and parsed (an RDB's header, every tar member).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsbook.backups import pipeline
from opsbook.backups.catalog import Entry, repositories
from opsbook.backups.crypto import opener
from opsbook.backups.manifest import Manifest
from opsbook.backups.repos.base import Repository
from opsbook.backups.restore import (
    compare,
    first_repo,
    left_out,
    pg_restore,
    restored_stats,
    superuser_only,
)
from opsbook.backups.signing import authenticated
from opsbook.clients import postgres as pg
from opsbook.config.backups import Backups, PostgresSource
from opsbook.errors import BackupError, DatabaseError
from opsbook.progress import Progress


@dataclass(frozen=True)
class Verified:
    backup_id: str
    repo: str
    ok: bool
    detail: str
    seconds: float
    started_at: datetime
    tables: int = 0
    rows: int = 0
    mismatches: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.backup_id,
            "repo": self.repo,
            "ok": self.ok,
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
            "tables": self.tables,
            "rows": self.rows,
            "mismatches": list(self.mismatches),
        }


SCRATCH_SETTINGS = (("synchronous_commit", "off"), ("maintenance_work_mem", "256MB"))


def verify(
    backups: Backups,
    entry: Entry,
    *,
    repo: str | None = None,
    identity: str | None = None,
    progress: Progress | None = None,
) -> Verified:
    """Never raises for a bad backup: the failure and its reason are the result."""
    started_at = datetime.now(UTC)
    start = time.monotonic()
    repos = {r.name: r for r in repositories(backups, entry.repos)}
    chosen = first_repo(entry, repos, repo)
    manifest = entry.manifest
    try:
        authenticated(backups, manifest)
        if manifest.kind == "postgres":
            tables, rows, mismatches, skipped = _verify_postgres(
                backups, manifest, chosen, identity, progress)  # fmt: skip
        else:
            tables, rows, skipped = 0, 0, []
            mismatches, found = _verify_archive(backups, manifest, chosen, identity, progress)
    except BackupError as exc:
        return Verified(manifest.id, chosen.name, False, str(exc), time.monotonic() - start,
                        started_at)  # fmt: skip
    if mismatches:
        detail = f"{len(mismatches)} difference(s): " + "; ".join(mismatches[:5])
    elif manifest.kind == "postgres":
        detail = f"restored {tables} tables, {rows} rows, all matching the manifest"
        if skipped:
            detail += f"; {left_out(skipped)} (verify_dsn as a superuser restores them too)"
    else:
        detail = f"read back {manifest.raw_bytes} bytes; checksum and format good"
        detail += "".join(f"; {f}" for f in found)
    return Verified(manifest.id, chosen.name, not mismatches, detail, time.monotonic() - start,
                    started_at, tables, rows, tuple(mismatches))  # fmt: skip


def _verify_postgres(
    backups: Backups, manifest: Manifest, repo: Repository, identity: str | None,
    progress: Progress | None,
) -> tuple[int, int, list[str], list[str]]:  # fmt: skip
    source = backups.sources.get(manifest.source)
    if not isinstance(source, PostgresSource):
        raise BackupError(
            f"backup {manifest.id}: source {manifest.source!r} is no longer a postgres source "
            "in opsbook.yaml, so there is no server to verify on"
        )
    server = source.verify_dsn or source.dsn
    split = pg.for_child(server)
    scratch = f"opsbook_verify_{datetime.now(UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
    open_ = opener(manifest.encryption, identity=identity, config=backups.encryption)
    try:
        admin = pg.connect(server, application="opsbook-verify")
    except DatabaseError as exc:
        raise BackupError(f"cannot connect to the verification server {split.label}: "
                          f"{exc.reason}") from exc  # fmt: skip
    from psycopg import sql

    try:
        with pg.translated(dsn=server):
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
                sql.Identifier(scratch)))  # fmt: skip
            try:  # from here on, whatever fails, the scratch database is dropped
                # A throw-away database: no need to wait for WAL flushes, and index builds
                # (most of a restore's time) go faster with more memory (pg_restore's sessions)
                for setting, value in SCRATCH_SETTINGS:
                    admin.execute(
                        sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                            sql.Identifier(scratch), sql.Identifier(setting), sql.Literal(value)
                        )
                    )
                skipped = pg_restore(
                    manifest, repo, open_, pg.with_database(server, scratch),
                    jobs=source.verify_jobs, options=("--no-owner", "--no-privileges"),
                    progress=progress, skip_extensions=superuser_only(admin),
                )  # fmt: skip
                result = compare(manifest.tables, restored_stats(pg.with_database(server, scratch)))
            finally:
                _drop(admin, scratch)
    except DatabaseError as exc:
        raise BackupError(f"{split.label}: {exc.reason}") from exc
    finally:
        admin.close()
    return result.tables, result.rows, list(result.mismatches), skipped


def _drop(admin: Any, name: str) -> None:
    from psycopg import sql

    if admin.info.server_version >= 130000:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        return
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
    )
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def _verify_archive(
    backups: Backups, manifest: Manifest, repo: Repository, identity: str | None,
    progress: Progress | None,
) -> tuple[list[str], list[str]]:  # fmt: skip
    open_ = opener(manifest.encryption, identity=identity, config=backups.encryption)
    problems: list[str] = []
    found: list[str] = []
    for artifact in manifest.artifacts:
        check = _FormatCheck(artifact.format)
        stored = repo.open_file(manifest.source, manifest.id, artifact.file)
        try:
            raw = pipeline.fetch(stored, check, open_, expected_sha256=artifact.sha256,
                                 what=f"backup {manifest.id} {artifact.name} in {repo.describe()}",
                                 progress=progress)  # fmt: skip
        finally:
            stored.close()
        if raw != artifact.raw_bytes:
            problems.append(f"{artifact.name}: {raw} bytes read back, {artifact.raw_bytes} stored")
        problems += check.problems()
        if check.found:
            found.append(f"{artifact.name}: {check.found}")
    return problems, found


class _FormatCheck:
    """A sink that checks what it is given is the format the manifest says."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.head = b""
        self.size = 0
        self.members = 0
        self._tar: Any = None
        self._spool: Any = None
        self.found = ""  # what the check learnt, for the detail line
        if fmt == "tar":
            self._start_tar()
        elif fmt == "rdb":
            import tempfile

            self._spool = tempfile.NamedTemporaryFile(prefix="opsbook-verify-", suffix=".rdb")  # noqa: SIM115

    def _start_tar(self) -> None:
        import os
        import tarfile
        import threading

        read_fd, self._write_fd = os.pipe()
        self._sink = os.fdopen(self._write_fd, "wb")
        self._errors: list[str] = []

        def walk() -> None:
            try:
                with os.fdopen(read_fd, "rb") as src, tarfile.open(fileobj=src, mode="r|") as tar:
                    for _ in tar:
                        self.members += 1
            except (tarfile.TarError, OSError) as exc:
                self._errors.append(f"not a readable tar archive: {exc}")

        self._tar = threading.Thread(target=walk, daemon=True)
        self._tar.start()

    def write(self, data: bytes) -> int:
        if len(self.head) < 16:
            self.head += data[: 16 - len(self.head)]
        self.size += len(data)
        if self._tar is not None:
            self._sink.write(data)
        elif self._spool is not None:
            self._spool.write(data)
        return len(data)

    def problems(self) -> list[str]:
        if self._tar is not None:
            self._sink.close()
            self._tar.join()
            self.found = f"{self.members} files"
            return self._errors
        if self.fmt == "rdb":
            with self._spool:
                if not self.head.startswith(b"REDIS"):
                    return ["rdb: not an RDB file (no REDIS header)"]
                self._spool.flush()
                return self._check_rdb(self._spool.name)
        return []

    def _check_rdb(self, path: str) -> list[str]:
        """redis-check-rdb (shipped with redis-server) reads every key and the checksum."""
        import re
        import shutil
        import subprocess

        tool = shutil.which("redis-check-rdb")
        if tool is None:
            self.found = "RDB header good (install redis-tools for a full check)"
            return []
        done = subprocess.run([tool, path], capture_output=True, text=True, check=False)
        keys = re.search(r"(\d+) keys read", done.stdout)
        if done.returncode != 0 or "RDB looks OK" not in done.stdout:
            lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
            return [f"rdb: redis-check-rdb failed: {lines[-1] if lines else done.returncode}"]
        self.found = f"{keys.group(1) if keys else '?'} keys, checked by redis-check-rdb"
        return []
