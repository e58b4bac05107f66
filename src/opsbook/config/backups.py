"""The ``backups:`` section: repositories, encryption, sources and their schedules.

Every name a source mentions (its repositories) must exist; checked by ``validate_backups``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import msgspec

from opsbook.config.problems import Path_, Problem, convert_named, convert_section
from opsbook.config.types import DEFAULT_ALERT_SEVERITY, AlertSeverity, Duration

DAY = 86400.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SourceKind(enum.StrEnum):
    POSTGRES = "postgres"
    REDIS = "redis"
    FILES = "files"
    PGBACKREST = "pgbackrest"  # physical backups and WAL by pgBackRest (config/pgbackrest.py)


class FilesystemRepo(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type",
    tag="filesystem",
):  # fmt: skip
    path: str


class S3Repo(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type",
    tag="s3",
):  # fmt: skip
    bucket: str
    endpoint: str | None = None  # default: AWS
    prefix: str = ""
    region: str | None = None
    # Credentials: these keys, else boto3's own chain (AWS_ACCESS_KEY_ID…, ~/.aws, a profile).
    access_key_id: str | None = None
    secret_access_key: str | None = None
    secret_access_key_file: str | None = None
    profile: str | None = None
    ca_file: str | None = None  # a private CA's certificate (a MinIO with its own CA)

    def __post_init__(self) -> None:
        if self.secret_access_key and self.secret_access_key_file:
            raise ValueError("give secret_access_key or secret_access_key_file, not both")
        if self.endpoint and not self.endpoint.startswith(("http://", "https://")):
            raise ValueError(f"endpoint: expected http(s)://host[:port], got {self.endpoint!r}")


RepoConfig = FilesystemRepo | S3Repo


class EncryptionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    recipients: tuple[str, ...] = ()  # age public keys: age1…
    passphrase: str | None = None
    passphrase_file: str | None = None

    def __post_init__(self) -> None:
        modes = sum(bool(x) for x in (self.recipients, self.passphrase, self.passphrase_file))
        if modes != 1:
            raise ValueError(
                "give recipients: (age public keys), or passphrase: / passphrase_file:; "
                "for unencrypted backups write encryption: none"
            )
        for key in self.recipients:
            if not key.startswith("age1"):
                shown = key if len(key) <= 24 else key[:24] + "…"
                raise ValueError(f"recipients: {shown!r} is not an age public key (age1…)")


class Keep(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The runbook's retention: every backup for 7 days, one a day for 30 days."""

    all: Duration = Duration(7 * DAY)
    daily: Duration = Duration(30 * DAY)
    weekly: Duration | None = None
    monthly: Duration | None = None


class SourceBase(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type"
):
    kind: ClassVar[SourceKind]
    repositories: tuple[str, ...] = ()  # default: every repository
    keep: Keep = Keep()
    schedule: str | None = None  # cron, in the section's timezone
    max_age: Duration = Duration(26 * 3600)  # no good backup for this long is an alert
    compression_level: int = 3
    severity: AlertSeverity = DEFAULT_ALERT_SEVERITY

    def __post_init__(self) -> None:
        if not 1 <= self.compression_level <= 19:
            raise ValueError("compression_level: expected 1 (fast) to 19 (small)")
        if self.schedule is not None:
            cron_error(self.schedule, "schedule")


class PostgresSource(SourceBase, frozen=True, kw_only=True, tag="postgres"):
    kind = SourceKind.POSTGRES
    dsn: str
    jobs: int = 1  # > 1: directory format, pg_dump -j
    globals: bool = True  # roles and tablespaces (pg_dumpall --globals-only)
    role_passwords: bool = False  # include role password hashes in the globals
    verify_dsn: str | None = None  # server for scratch restores; default: the source's own
    verify_jobs: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.jobs <= 64:
            raise ValueError("jobs: expected 1 to 64")
        if not 1 <= self.verify_jobs <= 64:
            raise ValueError("verify_jobs: expected 1 to 64")


class RedisSource(SourceBase, frozen=True, kw_only=True, tag="redis"):
    kind = SourceKind.REDIS
    url: str
    # sync: the snapshot over the replication protocol (works remotely; needs SYNC allowed).
    # bgsave: BGSAVE, then read the RDB file Redis wrote (this machine only).
    method: Literal["sync", "bgsave"] = "sync"
    rdb_path: str | None = None  # bgsave: the RDB file, when CONFIG GET is not allowed


class FilesSource(SourceBase, frozen=True, kw_only=True, tag="files"):
    kind = SourceKind.FILES
    paths: tuple[str, ...]
    exclude: tuple[str, ...] = ()  # glob patterns
    on_change: bool = False  # opsbook serve: back up whenever a file changes (the runbook)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.paths:
            raise ValueError("paths: expected at least one file or directory")


class PgBackRestSource(SourceBase, frozen=True, kw_only=True, tag="pgbackrest"):
    """A PostgreSQL cluster backed up physically by pgBackRest, with its WAL archived, so it
    can be restored to any moment (docs/pitr.md). opsbook writes pgBackRest's configuration,
    schedules full and incremental backups, and proves them by restoring."""

    kind = SourceKind.PGBACKREST
    data_directory: str  # the cluster's PGDATA (pgBackRest's pg1-path)
    port: int = 5432
    socket_dir: str = "/var/run/postgresql"
    os_user: str = "postgres"  # the cluster's OS user: pgBackRest runs as it
    stanza: str | None = None  # default: the source's name
    database: str = "postgres"  # where opsbook keeps its marker table (the proof's truth)
    # how opsbook connects to the cluster (the marker table, pg_stat_archiver); default: its
    # socket, as the role named like the OS user
    dsn: str | None = None
    schedule: str | None = "0 1 * * *"  # the full backup, daily
    incremental_schedule: str | None = "0 * * * *"  # hourly
    full_retention: Duration = Duration(30 * DAY)
    incremental_retention: Duration = Duration(7 * DAY)
    archive_timeout: Duration = Duration(60.0)  # a WAL segment at least this often
    rpo: Duration = Duration(300.0)  # the newest recoverable moment may lag this much
    cipher_pass_file: str | None = None  # default: backups.encryption's passphrase
    process_max: int = 2
    config_dir: str = "/etc/opsbook/pgbackrest"  # where opsbook writes <stanza>.conf
    spool_dir: str = "/var/lib/opsbook/pgbackrest"  # pgBackRest's log and lock files
    verify_after_full: bool = True  # restore every full backup to prove it
    proof_schedule: str | None = "30 5 * * *"  # daily: a restore to a random recent moment
    # more truth for the proof: SQL run on the restored cluster (in database:), each
    # answering true, e.g. "SELECT count(*) > 0 FROM orders"
    verify_queries: tuple[str, ...] = ()
    restore_timeout: Duration = Duration(3600.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.incremental_schedule is not None:
            cron_error(self.incremental_schedule, "incremental_schedule")
        if self.proof_schedule is not None:
            cron_error(self.proof_schedule, "proof_schedule")
        if not 1 <= self.port <= 65535:
            raise ValueError("port: expected 1 to 65535")
        if not 1 <= self.process_max <= 32:
            raise ValueError("process_max: expected 1 to 32")
        if self.incremental_retention > self.full_retention:
            raise ValueError("incremental_retention: expected at most full_retention")
        if not 1 <= self.archive_timeout <= 3600:
            raise ValueError("archive_timeout: expected 1s to 1h")
        if not self.data_directory.startswith("/"):
            raise ValueError(f"data_directory: expected an absolute path, got "
                             f"{self.data_directory!r}")  # fmt: skip

    @property
    def conninfo(self) -> str:
        """How opsbook connects to the cluster: ``dsn``, else its socket as ``os_user``."""
        return self.dsn or (f"host={self.socket_dir} port={self.port} "
                            f"dbname={self.database} user={self.os_user}")  # fmt: skip


SourceConfig = PostgresSource | RedisSource | FilesSource | PgBackRestSource
SOURCE_MODELS: dict[str, type[SourceBase]] = {
    "postgres": PostgresSource,
    "redis": RedisSource,
    "files": FilesSource,
    "pgbackrest": PgBackRestSource,
}
REPO_MODELS: dict[str, type[msgspec.Struct]] = {"filesystem": FilesystemRepo, "s3": S3Repo}


class BackupSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The keys directly under ``backups:`` besides the named sections."""

    verify_after_backup: bool = False
    verify_schedule: str | None = None  # cron: verify the newest unverified backups
    prune_schedule: str | None = "30 4 * * *"
    timezone: str | None = None  # for the cron expressions; default: the file's, else UTC
    # On the backup host: the Ed25519 key every manifest is signed with (backup keygen
    # --signing). Everywhere: the public keys whose signature a restore requires.
    signing_key_file: str | None = None
    trusted_signers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key in ("verify_schedule", "prune_schedule"):
            value = getattr(self, key)
            if value is not None:
                cron_error(value, key)
        for signer in self.trusted_signers:
            if not signer.startswith("ed25519:") or len(signer) != 52:
                raise ValueError(
                    f"trusted_signers: {signer[:20]!r} is not a signing public key (ed25519:…, "
                    "as opsbook backup keygen --signing prints it)"
                )


@dataclass(frozen=True)
class Backups:
    repositories: dict[str, RepoConfig] = field(default_factory=dict)
    encryption: EncryptionConfig | None = None  # None: `encryption: none`
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    settings: BackupSettings = field(default_factory=BackupSettings)

    def repos_for(self, source: SourceBase) -> tuple[str, ...]:
        return source.repositories or tuple(self.repositories)


SECTION_KEYS = ("repositories", "encryption", "sources", *BackupSettings.__struct_fields__)


def cron_period(expr: str) -> float:
    """Seconds between two runs of a cron expression (the longest of the next few gaps)."""
    from datetime import UTC, datetime
    from itertools import pairwise

    from croniter import croniter

    it = croniter(expr, datetime(2026, 1, 5, tzinfo=UTC))
    fires = [it.get_next(datetime) for _ in range(8)]
    return max((b - a).total_seconds() for a, b in pairwise(fires))


def cron_error(expr: str, key: str) -> None:
    from croniter import croniter

    if not croniter.is_valid(expr):
        raise ValueError(
            f"{key}: {expr!r} is not a cron expression; expected five fields such as "
            "'0 3 * * *' (03:00 daily) or '0 * * * *' (hourly)"
        )


def validate_backups(value: Any, problems: list[Problem]) -> Backups | None:
    if value is None:
        return None
    root: Path_ = ("backups",)
    if not isinstance(value, dict):
        problems.append(Problem(root, "expected a mapping with repositories:, sources:, …"))
        return None
    for key in value:
        if key not in SECTION_KEYS:
            problems.append(
                Problem((*root, key), f"unknown key; expected one of: {', '.join(SECTION_KEYS)}")
            )
    repos = _named(value.get("repositories"), "repositories", REPO_MODELS, problems)
    sources = _named(value.get("sources"), "sources", SOURCE_MODELS, problems)
    encryption = _encryption(value.get("encryption", _MISSING), problems)
    settings_raw = {k: v for k, v in value.items() if k in BackupSettings.__struct_fields__}
    settings = convert_section(settings_raw, BackupSettings, root, problems)
    if sources and not repos:
        problems.append(Problem((*root, "repositories"), "sources need at least one repository"))
    for name, source in sources.items():
        for repo in source.repositories:
            if repo not in repos:
                known = ", ".join(repos) or "none"
                problems.append(
                    Problem(
                        (*root, "sources", name, "repositories"),
                        f"unknown repository {repo!r} (repositories: {known})",
                    )
                )
    for name, source in sources.items():
        if isinstance(source, PgBackRestSource):
            _physical_problems(name, source, repos, encryption, problems)
    if problems or settings is None or encryption is _INVALID:
        return None
    assert not isinstance(encryption, _Sentinel)
    return Backups(repos, encryption, sources, settings)


def _physical_problems(
    name: str, source: PgBackRestSource, repos: dict[str, Any], encryption: Any,
    problems: list[Problem],
) -> None:  # fmt: skip
    """What pgBackRest cannot do with this section, said where it is written."""
    path: Path_ = ("backups", "sources", name)
    for repo in source.repositories or tuple(repos):
        found = repos.get(repo)
        if isinstance(found, S3Repo) and found.endpoint and found.endpoint.startswith("http:"):
            problems.append(Problem((*path, "repositories"), (
                f"{repo!r} is plain HTTP ({found.endpoint}): pgBackRest speaks to S3 over "
                "HTTPS only")))  # fmt: skip
        if isinstance(found, S3Repo) and found.profile:
            problems.append(Problem((*path, "repositories"), (
                f"{repo!r} names an AWS profile: pgBackRest needs access_key_id and "
                "secret_access_key(_file), or neither (the instance's IAM role)")))  # fmt: skip
    if len(source.repositories or tuple(repos)) > 4:
        problems.append(Problem((*path, "repositories"), "pgBackRest takes 4 at most"))
    ages = isinstance(encryption, EncryptionConfig) and bool(encryption.recipients)
    if ages and source.cipher_pass_file is None:
        why = (
            "pgBackRest encrypts with a passphrase, not age keys: give cipher_pass_file: "
            "(a file holding a long random passphrase), or encryption: passphrase_file:"
        )
        problems.append(Problem((*path, "cipher_pass_file"), why))


class _Sentinel:
    pass


_MISSING = _Sentinel()
_INVALID = _Sentinel()


def _encryption(value: Any, problems: list[Problem]) -> EncryptionConfig | _Sentinel | None:
    path: Path_ = ("backups", "encryption")
    if value == "none":
        return None
    if value is _MISSING or value is None:
        problems.append(
            Problem(
                path,
                "missing: give recipients: [age1…] (or passphrase_file:), or write "
                "encryption: none to store backups unencrypted",
            )
        )
        return _INVALID
    if not isinstance(value, dict):
        problems.append(Problem(path, f"expected recipients: [...] or 'none', got {value!r}"))
        return _INVALID
    section = convert_section(value, EncryptionConfig, path, problems)
    return _INVALID if section is None else section


def _named(
    value: Any, key: str, models: dict[str, type[msgspec.Struct]] | dict[str, Any],
    problems: list[Problem],
) -> dict[str, Any]:  # fmt: skip
    return convert_named(value, ("backups", key), models, problems)


def backup_checks(backups: Backups, checks: dict[str, Any], store: Any) -> dict[str, Any]:
    """A `backup` check per source, so stale, failed or unverified backups alert and page
    like any other check (unless the file defines a check of that name itself)."""
    from opsbook.config.checks import BackupCheck

    out = dict(checks)
    for name, source in backups.sources.items():
        if isinstance(source, PgBackRestSource) and f"backup-{name}-wal" not in out:
            from opsbook.config.db_checks import WalArchiveCheck

            out[f"backup-{name}-wal"] = WalArchiveCheck(
                dsn=source.conninfo, archive_timeout=source.archive_timeout, rpo=source.rpo,
                severity=source.severity,
                description=f"WAL archiving of {name}: working, and recent enough (rpo)",
            )  # fmt: skip
        check_name = f"backup-{name}"
        if check_name not in out:
            # Backed up only when it changes: an old newest backup is no news then.
            unscheduled = (
                isinstance(source, FilesSource) and source.on_change and not source.schedule
            )
            max_age = float("inf") if unscheduled else float(source.max_age)
            if isinstance(source, PgBackRestSource) and source.incremental_schedule:
                # the chain is as fresh as its newest incremental: two missed is an alert
                max_age = min(max_age, 2 * cron_period(source.incremental_schedule) + 600)
            out[check_name] = BackupCheck(
                source=name,
                max_age=Duration(max_age),
                severity=source.severity,
                store=store if isinstance(store, str) else None,
                description=f"backups of {name}: fresh, verified, last run good",
            )
    return out
