"""Restoring a PostgreSQL backup with pg_restore, and proving it against the manifest.

Custom-format dumps stream straight into ``pg_restore`` (no copy on disk) when restoring
with one job; parallel restores need a seekable file, so the dump is first written,
decrypted and decompressed, to a temporary file (or directory, for directory-format dumps).
"""

from __future__ import annotations

import contextlib
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbook.backups import pgtools, pipeline
from opsbook.backups.catalog import Entry
from opsbook.backups.crypto import Opener
from opsbook.backups.manifest import Manifest, TableStat
from opsbook.backups.repos.base import Repository
from opsbook.clients import postgres as pg
from opsbook.errors import BackupError
from opsbook.progress import Progress


@dataclass(frozen=True)
class Comparison:
    tables: int
    rows: int
    mismatches: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def compare(expected: tuple[TableStat, ...], actual: tuple[TableStat, ...]) -> Comparison:
    """Every table, its row count and timestamp maxima, as the manifest recorded them."""
    have = {(t.schema, t.table): t for t in actual}
    problems: list[str] = []
    for want in expected:
        name = f"{want.schema}.{want.table}"
        got = have.pop((want.schema, want.table), None)
        if got is None:
            problems.append(f"{name}: missing after restore")
            continue
        if got.rows != want.rows:
            problems.append(f"{name}: {got.rows} rows restored, {want.rows} in the backup")
        for column, value in want.maxima.items():
            if got.maxima.get(column) != value:
                problems.append(
                    f"{name}.{column}: max {got.maxima.get(column)} restored, {value} in the backup"
                )
    problems += [f"{s}.{t}: not in the backup's manifest" for s, t in have]
    return Comparison(len(expected), sum(t.rows for t in expected), tuple(problems))


def pg_restore(
    manifest: Manifest,
    repo: Repository,
    opener: Opener,
    dsn: str,
    *,
    jobs: int,
    options: tuple[str, ...] = (),
    progress: Progress | None = None,
    skip_extensions: frozenset[str] = frozenset(),
) -> list[str]:
    """Restore the dump artifact of ``manifest`` from ``repo`` into the database at ``dsn``.

    ``skip_extensions``: extensions this role may not create (untrusted ones, for a role that
    is not a superuser): their entries are left out of the restore; returns those the dump
    held, so the caller can say so."""
    artifact = manifest.artifact("dump")
    if artifact is None:
        raise BackupError(f"backup {manifest.id} has no database dump")
    split = pg.for_child(dsn)
    tool = pgtools.tool("pg_restore", _major(manifest.server_version))
    args = [str(tool), "--no-password", "--exit-on-error", "-d", split.conninfo, *options]
    what = f"backup {manifest.id} {artifact.file} in {repo.describe()}"
    stored = repo.open_file(manifest.source, manifest.id, artifact.file)
    try:
        if artifact.format == "custom" and jobs == 1 and not skip_extensions:
            _stream_into(args, split, stored, opener, artifact.sha256, what, progress)
            return []
        with _staged(manifest, artifact.format, stored, opener, artifact.sha256, what,
                     progress) as path:  # fmt: skip
            skipped, listing = _without_extensions(tool, path, skip_extensions)
            if listing is not None:
                args += ["--use-list", str(listing)]
            done = subprocess.run(
                [*args, "--jobs", str(jobs), str(path)],
                capture_output=True, env=split.env, stdin=subprocess.DEVNULL, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                text = done.stderr.decode(errors="replace").strip().splitlines()
                raise BackupError(f"pg_restore failed: {split.redact(' / '.join(text[-3:]))}")
            return skipped
    finally:
        with contextlib.suppress(Exception):
            stored.close()


def _without_extensions(
    tool: Path, dump: Path, skip: frozenset[str]
) -> tuple[list[str], Path | None]:
    """The dump's table of contents without the entries of ``skip``'s extensions (the
    extension and its comment), written beside the dump for ``pg_restore --use-list``."""
    if not skip:
        return [], None
    done = subprocess.run([str(tool), "--list", str(dump)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise BackupError(f"pg_restore --list failed: {done.stderr.strip()[-300:]}")
    kept, skipped = [], []
    lines = done.stdout.splitlines()
    for line in lines:
        # "215; 1259 16385 EXTENSION - pg_stat_statements " / "… COMMENT - EXTENSION x "
        words = line.split()
        if "EXTENSION" in words and words[-1] in skip:
            if words[-1] not in skipped:
                skipped.append(words[-1])
            continue
        kept.append(line)
    # grants on the extension's own objects go with it (they are named after it, as
    # pg_stat_statements' view and functions are: "ACL public pg_stat_statements owner")
    # "3425; 0 0 ACL public TABLE pg_stat_statements postgres"
    kept = [ln for ln in kept if not (" ACL " in f" {ln} " and any(
        w.startswith(name) for name in skipped for w in ln.split()[4:-1]))]  # fmt: skip
    if not skipped:
        return [], None
    listing = dump.parent / "restore.list"
    listing.write_text("\n".join(kept) + "\n")
    return skipped, listing


def _stream_into(
    args: list[str], split: pg.ChildDsn, stored: Any, opener: Opener, sha256: str, what: str,
    progress: Progress | None,
) -> None:  # fmt: skip
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=split.env)  # fmt: skip
    assert proc.stdin is not None and proc.stderr is not None
    errors = pgtools.StderrTail(proc.stderr)
    try:
        pipeline.fetch(stored, proc.stdin, opener, expected_sha256=sha256, what=what,
                       progress=progress)  # fmt: skip
        proc.stdin.close()
    except BackupError:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        if proc.wait() != 0:  # pg_restore stopped first: its reason is the one that matters
            raise BackupError(f"pg_restore failed: {errors.text(split.redact)}") from None
        raise
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.wait() != 0:
        raise BackupError(f"pg_restore failed: {errors.text(split.redact)}")


@contextlib.contextmanager
def _staged(
    manifest: Manifest, fmt: str, stored: Any, opener: Opener, sha256: str, what: str,
    progress: Progress | None,
) -> Iterator[Path]:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="opsbook-restore-") as tmp:
        target = Path(tmp) / "dump"
        try:
            if fmt == "directory-tar":
                with untar_into(target, "the directory-format dump") as (sink, _):
                    pipeline.fetch(stored, sink, opener, expected_sha256=sha256, what=what,
                                   progress=progress)  # fmt: skip
            else:
                with target.open("wb") as sink:
                    pipeline.fetch(stored, sink, opener, expected_sha256=sha256, what=what,
                                   progress=progress)  # fmt: skip
        except OSError as exc:
            raise BackupError(
                f"cannot stage {manifest.id} in {tmp} for a parallel restore: {exc.strerror}; "
                "free space there (TMPDIR) or restore with --jobs 1, which streams"
            ) from None
        yield target


@dataclass
class Unpacked:
    members: int = 0


def _data_keeping_owner(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """tarfile's ``data`` filter (nothing lands outside the target, no device files, no links
    out), but owner, group and permission bits kept as ``tar -p`` keeps them; setuid, setgid
    and sticky bits are still dropped."""
    safe = tarfile.data_filter(member, path)
    if safe is None:
        return None
    mode = (member.mode & 0o777) if member.mode is not None else safe.mode
    return safe.replace(uid=member.uid, gid=member.gid, uname=member.uname,
                        gname=member.gname, mode=mode, deep=False)  # fmt: skip


@contextlib.contextmanager
def untar_into(
    target: Path, what: str, *, keep_owner: bool = False
) -> Iterator[tuple[Any, Unpacked]]:
    """A sink whose bytes, a tar stream, are unpacked into ``target`` by a thread (tarfile's
    ``data`` filter: nothing lands outside it). Bad data (checksum, key) is the reason given
    when the fetch fails; the unpacker's own reason when it stopped first. ``keep_owner``
    (a files restore run as root) puts owners and modes back too."""
    import os
    import threading

    from opsbook.errors import DecryptError, IntegrityError

    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []
    unpacked = Unpacked()

    def extract() -> None:
        try:
            with os.fdopen(read_fd, "rb") as src, tarfile.open(fileobj=src, mode="r|") as tar:
                rule = _data_keeping_owner if keep_owner else tarfile.data_filter
                for member in tar:
                    tar.extract(member, target, filter=rule)
                    unpacked.members += 1
        except BaseException as exc:  # reported below, once the writer side is closed
            failure.append(exc)

    worker = threading.Thread(target=extract, name="opsbook-untar", daemon=True)
    worker.start()
    try:
        with os.fdopen(write_fd, "wb") as sink:
            yield sink, unpacked
    except (IntegrityError, DecryptError):
        worker.join()
        raise
    except (BackupError, BrokenPipeError):
        worker.join()
        if failure:
            raise BackupError(f"cannot unpack {what}: {failure[0]}") from None
        raise
    worker.join()
    if failure:
        raise BackupError(f"cannot unpack {what}: {failure[0]}")


def _major(version: str | None) -> int | None:
    if not version:
        return None
    head = version.split()[0].split(".")[0]
    return int(head) if head.isdigit() else None


def restored_stats(dsn: str) -> tuple[TableStat, ...]:
    from opsbook.backups.sources.postgres import table_stats

    with pg.session(dsn, application="opsbook-restore") as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return table_stats(conn)


def first_repo(entry: Entry, repos: dict[str, Repository], choice: str | None) -> Repository:
    if choice is not None:
        if choice not in entry.repos:
            raise BackupError(f"backup {entry.id} is not in repository {choice!r}")
        return repos[choice]
    return repos[entry.repos[0]]


def superuser_only(admin: Any) -> frozenset[str]:
    """Extensions this role cannot create (none for a superuser): a verify as the database's
    owner leaves them out and says so, rather than failing on CREATE EXTENSION."""
    row = admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if row and row["rolsuper"]:
        return frozenset()
    untrusted = admin.execute(
        "SELECT DISTINCT name FROM pg_available_extension_versions WHERE NOT trusted"
    )
    return frozenset(r["name"] for r in untrusted)


def left_out(skipped: list[str]) -> str:
    return f"left out extensions only a superuser may create: {', '.join(skipped)}"
