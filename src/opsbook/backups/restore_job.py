"""``opsbook backup restore``: into a database that is empty (or created), or — only when
asked — over one that is not; then the same comparison a verification makes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from opsbook.backups import records
from opsbook.backups.catalog import Entry, repositories
from opsbook.backups.crypto import opener
from opsbook.backups.records import Event, EventKind
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
from opsbook.config.backups import Backups
from opsbook.errors import BackupError, DatabaseError, UsageError
from opsbook.progress import Progress

USER_TABLES = """
SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
"""


@dataclass(frozen=True)
class RestoreRequest:
    entry: Entry
    dsn: str
    jobs: int = 1
    clean: bool = False
    force: bool = False
    no_owner: bool = False
    repo: str | None = None
    identity: str | None = None
    actor: str = ""


@dataclass(frozen=True)
class Restored:
    backup_id: str
    target: str
    ok: bool
    detail: str
    seconds: float
    mismatches: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.backup_id,
            "target": self.target,
            "ok": self.ok,
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
            "mismatches": list(self.mismatches),
        }


def restore_backup(
    backups: Backups,
    engine: Engine,
    request: RestoreRequest,
    *,
    confirm: Callable[[str], bool] | None = None,
    progress: Progress | None = None,
) -> Restored:
    manifest = request.entry.manifest
    if manifest.kind != "postgres":
        raise UsageError(
            f"backup {manifest.id} is a {manifest.kind} backup; restore handles PostgreSQL "
            "(for others, opsbook backup verify proves them and docs/backups.md shows how to "
            "put the files back)"
        )
    if request.clean and request.force:
        raise UsageError("give --clean or --force, not both")
    authenticated(backups, manifest)  # before anything of it touches the target
    split = pg.for_child(request.dsn)
    existing = _prepare_target(request.dsn, split)
    if existing and not (request.clean or request.force):
        raise BackupError(
            f"{split.label} is not empty ({existing} tables, views or sequences); restore into "
            "an empty database, or give --clean (drop what the backup holds first) or --force"
        )
    if confirm is not None:
        if request.clean:
            what = "drops and replaces the objects it holds"
        else:
            what = "adds to what is there" if existing else "fills an empty database"
        if not confirm(f"Restore {manifest.id} into {split.label} ({what})?"):
            raise BackupError("restore cancelled; nothing was changed")
    repos = {r.name: r for r in repositories(backups, request.entry.repos)}
    repo = first_repo(request.entry, repos, request.repo)
    options: list[str] = []
    if request.clean:
        options += ["--clean", "--if-exists"]
    if request.no_owner:
        options += ["--no-owner", "--no-privileges"]
    started = datetime.now(UTC)
    start = time.monotonic()
    try:
        with records.lease(engine, manifest.id, "restore"):
            with pg.session(request.dsn, label=split.label) as conn:
                skip = superuser_only(conn)
            if skip and "--no-owner" not in options:
                # not a superuser: objects cannot be given to other roles; they become the
                # restoring role's (the database owner's rights), and the detail says so
                options.append("--no-owner")
            skipped = pg_restore(
                manifest, repo, opener(manifest.encryption, identity=request.identity,
                                       config=backups.encryption),
                request.dsn, jobs=request.jobs, options=tuple(options), progress=progress,
                skip_extensions=skip,
            )  # fmt: skip
    except BackupError as exc:
        records.record(engine, Event(EventKind.RESTORE, manifest.source, manifest.id, repo.name,
                                     started, datetime.now(UTC), False,
                                     f"into {split.label}: {exc}", request.actor))  # fmt: skip
        raise
    result = compare(manifest.tables, restored_stats(request.dsn))
    if result.ok:
        detail = f"{result.tables} tables, {result.rows} rows, all matching the manifest"
    else:
        detail = f"{len(result.mismatches)} difference(s): " + "; ".join(result.mismatches[:5])
    if skipped:
        detail += f"; {left_out(skipped)}: CREATE EXTENSION them as a superuser"
    if skip and not request.no_owner:
        detail += "; restored with this role's rights (objects owned by it: --no-owner)"
    records.record(engine, Event(EventKind.RESTORE, manifest.source, manifest.id, repo.name,
                                 started, datetime.now(UTC), result.ok,
                                 f"into {split.label}: {detail}", request.actor))  # fmt: skip
    return Restored(manifest.id, split.label, result.ok, detail, time.monotonic() - start,
                    result.mismatches)  # fmt: skip


def _prepare_target(dsn: str, split: pg.ChildDsn) -> int:
    """How many objects the target holds; creates the database when it does not exist."""
    from psycopg import sql

    try:
        with pg.session(dsn, label=split.label, application="opsbook-restore") as conn:
            row = conn.execute(USER_TABLES).fetchone()
            return int(row["n"]) if row else 0
    except DatabaseError as exc:
        if not (exc.connecting and "does not exist" in exc.reason):
            raise BackupError(str(exc)) from exc
    name = pg.database_of(dsn)
    try:
        with pg.session(pg.with_database(dsn, "postgres"), label=split.label,
                        application="opsbook-restore") as admin:  # fmt: skip
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))
    except DatabaseError as exc:
        raise BackupError(f"cannot create database {name}: {exc.reason}") from exc
    return 0
