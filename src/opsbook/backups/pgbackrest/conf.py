"""pgBackRest's configuration, written by opsbook from opsbook.yaml.

One file per source (``<config_dir>/<stanza>.conf``), readable by the cluster's OS user only
(it holds the cipher passphrase, and PostgreSQL's archive_command runs as that user). The
repositories of the source map to repo1…repo4, in the order the source lists them.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from opsbook.config.backups import Backups, FilesystemRepo, PgBackRestSource, S3Repo
from opsbook.errors import BackupError

DAY = 86400


@dataclass(frozen=True)
class Layout:
    stanza: str
    conf: Path
    spool: Path  # log/ and lock/ under it, owned by the OS user

    @property
    def log(self) -> Path:
        return self.spool / self.stanza / "log"

    @property
    def lock(self) -> Path:
        return self.spool / self.stanza / "lock"


def layout(name: str, source: PgBackRestSource) -> Layout:
    stanza = source.stanza or name
    return Layout(stanza, Path(source.config_dir) / f"{stanza}.conf", Path(source.spool_dir))


def cipher_pass(source: PgBackRestSource, backups: Backups) -> str | None:
    """The passphrase pgBackRest encrypts with: the source's cipher_pass_file, else the
    section's passphrase; None with ``encryption: none``."""
    path = source.cipher_pass_file
    enc = backups.encryption
    if path is None and enc is not None:
        if enc.passphrase:
            return enc.passphrase
        path = enc.passphrase_file
    if path is None:
        return None
    try:
        secret = Path(path).read_text().strip()
    except OSError as exc:
        raise BackupError(f"cannot read the cipher passphrase {path}: {exc.strerror}") from None
    if len(secret) < 20:
        raise BackupError(f"the cipher passphrase in {path} is short: use 20 characters or more")
    return secret


def render(name: str, source: PgBackRestSource, backups: Backups) -> str:
    where = layout(name, source)
    full_days = max(1, round(float(source.full_retention) / DAY))
    lines = [
        "# Written by opsbook from opsbook.yaml: edit that, not this (opsbook backup setup).",
        "[global]",
        f"log-path={where.log}",
        f"lock-path={where.lock}",
        "log-level-console=warn",
        "log-level-file=info",
        "start-fast=y",
        "compress-type=zst",
        f"compress-level={min(source.compression_level, 9)}",
        f"process-max={source.process_max}",
        "archive-async=n",
    ]
    secret = cipher_pass(source, backups)
    for index, repo_name in enumerate(backups.repos_for(source), start=1):
        repo = backups.repositories[repo_name]
        lines += [f"# {repo_name}", *_repo_lines(index, repo)]
        lines += [
            f"repo{index}-retention-full-type=time",
            f"repo{index}-retention-full={full_days}",
        ]
        if secret is not None:
            lines += [f"repo{index}-cipher-type=aes-256-cbc", f"repo{index}-cipher-pass={secret}"]
    lines += [
        "",
        f"[{where.stanza}]",
        f"pg1-path={source.data_directory}",
        f"pg1-port={source.port}",
        f"pg1-socket-path={source.socket_dir}",
        f"pg1-database={source.database}",
    ]
    return "\n".join(lines) + "\n"


def _repo_lines(index: int, repo: FilesystemRepo | S3Repo) -> list[str]:
    """A repository as pgBackRest's repoN options (S3: over HTTPS, path-style when an
    endpoint is given, as MinIO and moto want)."""
    if isinstance(repo, FilesystemRepo):
        return [f"repo{index}-path={Path(repo.path) / 'pgbackrest'}"]
    from opsbook.backups.repos.s3 import secret_of

    r = f"repo{index}"
    prefix = repo.prefix.strip("/")
    lines = [f"{r}-type=s3", f"{r}-s3-bucket={repo.bucket}",
             f"{r}-path=/{prefix + '/' if prefix else ''}pgbackrest",
             f"{r}-s3-region={repo.region or 'us-east-1'}"]  # fmt: skip
    if repo.endpoint:
        parts = urlsplit(repo.endpoint)
        lines += [f"{r}-s3-endpoint={parts.hostname}", f"{r}-s3-uri-style=path"]
        if parts.port:
            lines.append(f"{r}-storage-port={parts.port}")
    else:
        lines.append(f"{r}-s3-endpoint=s3.{repo.region or 'us-east-1'}.amazonaws.com")
    if repo.ca_file:
        lines.append(f"{r}-storage-ca-file={repo.ca_file}")
    secret = secret_of(repo)
    if repo.access_key_id and secret:
        lines += [f"{r}-s3-key={repo.access_key_id}", f"{r}-s3-key-secret={secret}"]
    else:
        lines.append(f"{r}-s3-key-type=auto")  # the instance's IAM role
    return lines


def write(name: str, source: PgBackRestSource, backups: Backups) -> Layout:
    """The file and the spool directories, owned by the OS user (mode 0600 / 0700)."""
    where = layout(name, source)
    try:
        pwd.getpwnam(source.os_user)
    except KeyError:
        raise BackupError(f"no OS user {source.os_user!r} (os_user: the cluster's)") from None
    text = render(name, source, backups)
    try:
        where.conf.parent.mkdir(parents=True, exist_ok=True)
        for path in (where.log, where.lock):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            _own(path, source.os_user)
        for repo_name in backups.repos_for(source):
            repo = backups.repositories[repo_name]
            if not isinstance(repo, FilesystemRepo):
                continue
            store = Path(repo.path) / "pgbackrest"
            store.mkdir(parents=True, exist_ok=True, mode=0o750)
            _own(store, source.os_user)
        fd = os.open(where.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        _own(where.conf, source.os_user)
    except OSError as exc:
        said = f"{exc.filename}: {exc.strerror}"
        raise BackupError(
            f"cannot write pgBackRest's files: {said} (run opsbook backup "
            "setup as root or as the cluster's OS user)"
        ) from None
    return where


def give_to(path: Path, user: str) -> None:
    """The path owned by ``user`` (when opsbook runs as root; as that user it already is)."""
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _own(path: Path, user: str) -> None:
    give_to(path, user)
    for parent in list(path.parents)[:2]:  # the OS user must be able to reach it
        if os.geteuid() == 0 and parent.exists() and parent.stat().st_uid == 0:
            parent.chmod(parent.stat().st_mode | 0o011)


def archive_command(name: str, source: PgBackRestSource) -> str:
    where = layout(name, source)
    return f"pgbackrest --config={where.conf} --stanza={where.stanza} archive-push %p"


def settings(name: str, source: PgBackRestSource) -> dict[str, str]:
    """What postgresql.conf needs for WAL archiving (archive_mode needs a restart)."""
    return {
        "archive_mode": "on",
        "archive_command": archive_command(name, source),
        "archive_timeout": f"{int(source.archive_timeout)}s",
        "wal_level": "replica",
    }
