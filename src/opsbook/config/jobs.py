"""The ``jobs:`` section: the runbook's calendar, each job a schedule and an action.

A job's ``action:`` picks its kind, the way ``type:`` picks a check's: ``command`` (any
program; its exit code read as a Nagios plugin's) or one of opsbook's built-in actions, each
also a command of its own (docs/jobs.md). A ``job-<name>`` check is added for every job so a
failed, timed-out or overdue run alerts and pages like any other check.
"""

from __future__ import annotations

import enum
import shlex
from typing import Any, ClassVar

import msgspec

from opsbook.config.backups import cron_error
from opsbook.config.checks import RecordCheck
from opsbook.config.problems import Problem, convert_named
from opsbook.config.types import AlertSeverity, Duration, is_check_name
from opsbook.results import CheckKind
from opsbook.units import parse_size


class Action(enum.StrEnum):
    COMMAND = "command"
    LOG_RETENTION = "log-retention"
    SECURITY_UPDATES = "security-updates"
    DB_MAINTENANCE = "db-maintenance"
    RESTORE_DRILL = "restore-drill"
    CAPACITY_REVIEW = "capacity-review"
    DAILY_REPORT = "daily-report"
    SECURITY_AUDIT = "security-audit"
    WEEKLY_REPORT = "weekly-report"
    MONTHLY_REPORT = "monthly-report"


class NotifyOn(enum.StrEnum):
    ALWAYS = "always"
    PROBLEMS = "problems"  # WARNING, CRITICAL, UNKNOWN, timed out


class JobBase(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="action"
):
    action_kind: ClassVar[Action]
    schedule: str  # cron, read on the wall clock of timezone
    timezone: str | None = None  # default: the file's timezone, else UTC
    description: str | None = None
    timeout: Duration = Duration(3600.0)  # then the run is killed and counts as CRITICAL
    # A run the daemon missed while it was down is run once when it starts again.
    catch_up: bool = True
    notify: str | None = None  # a channel the run's report goes to
    notify_on: NotifyOn = NotifyOn.ALWAYS
    # The job-<name> check: a failed run opens an incident at this severity (a CRITICAL
    # exit or a timeout at `critical`, a WARNING exit at `warning`).
    severity: AlertSeverity = AlertSeverity(3, 4)
    # How long after its time a run may start and finish before the job counts as overdue
    # (beyond its timeout).
    grace: Duration = Duration(600.0)

    def _base_checks(self) -> None:
        cron_error(self.schedule, "schedule")
        if self.timezone is not None:
            zone_error(self.timezone, "timezone")
        if self.timeout < 1:
            raise ValueError("timeout: expected 1s or more")


def zone_error(name: str, key: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{key}: unknown time zone {name!r}; expected an IANA name such as Europe/Paris"
        ) from None


class CommandJob(JobBase, frozen=True, kw_only=True, tag="command"):
    """Any program: exit 0 OK, 1 WARNING, 2 CRITICAL, anything else UNKNOWN (as a Nagios
    plugin); its first line of output is the run's summary."""

    action_kind = Action.COMMAND
    command: tuple[str, ...] | str  # argv; a string is split as a shell would, not run by one
    shell: bool = False  # run the string through /bin/sh -c (pipes, globs, redirections)
    workdir: str | None = None
    env: dict[str, str] = {}

    def __post_init__(self) -> None:
        self._base_checks()
        command_error(self.command, self.shell)

    @property
    def argv(self) -> list[str]:
        return argv_of_command(self.command, self.shell)


def command_error(command: tuple[str, ...] | str, shell: bool) -> None:
    """A command: argv as a list, or one string split as a shell splits it (run by one only
    with ``shell: true``)."""
    if isinstance(command, str):
        if not command.strip():
            raise ValueError("command: expected a program to run")
        if not shell:
            try:
                shlex.split(command)
            except ValueError as exc:
                raise ValueError(f"command: {exc} (quote it, or give a list)") from None
    elif not command:
        raise ValueError("command: expected a program to run, such as [backup.sh, --all]")
    elif shell:
        raise ValueError("shell: true takes command: as one string")


def argv_of_command(command: tuple[str, ...] | str, shell: bool) -> list[str]:
    if isinstance(command, str):
        return ["/bin/sh", "-c", command] if shell else shlex.split(command)
    return list(command)


class LogRetentionJob(JobBase, frozen=True, kw_only=True, tag="log-retention"):
    """The runbook's `find /var/log -name "*.log.*" -mtime +30 -delete`, done safely."""

    action_kind = Action.LOG_RETENTION
    paths: tuple[str, ...]  # globs of rotated logs; nothing outside them is ever touched
    older_than: Duration = Duration(30 * 86400.0)
    dry_run: bool = True  # report what would go; `false` deletes
    logs: tuple[str, ...] = ()  # live logs that must be rotated (globs)
    max_size: str = "1GB"  # a live log this big has not been rotated: WARNING
    logrotate_state: str = "/var/lib/logrotate/status"

    def __post_init__(self) -> None:
        self._base_checks()
        if not self.paths:
            raise ValueError("paths: expected globs of rotated logs, such as /var/log/*.log.*")
        for glob in self.paths:
            if not glob.startswith("/"):
                raise ValueError(f"paths: {glob!r} is relative; expected an absolute glob")
            if glob.rstrip("/*") in ("", "/var", "/var/log", "/etc", "/usr", "/home"):
                raise ValueError(
                    f"paths: {glob!r} matches every file of a system directory; name the "
                    "rotated logs, such as /var/log/nginx/*.log.*"
                )
        if self.older_than < 86400:
            raise ValueError("older_than: expected 1d or more")
        try:
            parse_size(self.max_size)
        except ValueError:
            raise ValueError(
                f"max_size: expected a size such as 500MB or 2GB, got {self.max_size!r}"
            ) from None

    @property
    def max_bytes(self) -> int:
        return parse_size(self.max_size)


class SecurityUpdatesJob(JobBase, frozen=True, kw_only=True, tag="security-updates"):
    """Pending (security) updates by apt's simulation, reboot and kernel age, images by trivy,
    the tree by trivy fs / gitleaks when installed, and detect-secrets always."""

    action_kind = Action.SECURITY_UPDATES
    images: tuple[str, ...] = ()  # container images for `trivy image`
    scan_paths: tuple[str, ...] = ()  # trees for trivy fs, gitleaks and detect-secrets
    kernel_max_age: Duration = Duration(30 * 86400.0)  # running a kernel older: WARNING

    def __post_init__(self) -> None:
        self._base_checks()


class DbMaintenanceJob(JobBase, frozen=True, kw_only=True, tag="db-maintenance"):
    """The weekly VACUUM ANALYZE and REINDEX CONCURRENTLY, with `opsbook db`'s guards, and the
    unused-index, slow-query and bloat reports compared with last week's."""

    action_kind = Action.DB_MAINTENANCE
    target: str | None = None  # a postgres check's name or a DSN; default: the only one
    vacuum: bool = True
    reindex: bool = True

    def __post_init__(self) -> None:
        self._base_checks()


class RestoreDrillJob(JobBase, frozen=True, kw_only=True, tag="restore-drill"):
    """The runbook's monthly restoration test: the newest backup of each source (or of
    ``source``) restored into a scratch database and compared (`opsbook backup verify`)."""

    action_kind = Action.RESTORE_DRILL
    source: str | None = None
    timeout: Duration = Duration(6 * 3600.0)  # a restore of a large database takes its time

    def __post_init__(self) -> None:
        self._base_checks()


class CapacityJob(JobBase, frozen=True, kw_only=True, tag="capacity-review"):
    """The monthly capacity review: from the stored history, when disk, database size,
    connections, Redis memory and request rate reach their limits (opsbook report capacity)."""

    action_kind = Action.CAPACITY_REVIEW
    schedule: str = "0 9 1 * *"
    horizon: Duration = Duration(30 * 86400.0)  # a limit reached sooner: WARNING
    history: Duration = Duration(90 * 86400.0)  # how far back the trend is read
    min_history: Duration = Duration(7 * 86400.0)  # fewer days of data: "not enough history"
    limits: dict[str, float] = {}  # "check.measurement": its limit (request rate, sizes)
    series: tuple[str, ...] = ()  # more "check.measurement" to forecast

    def __post_init__(self) -> None:
        self._base_checks()
        for key in (*self.limits, *self.series):
            check, _, measurement = key.partition(".")
            if not check or not measurement:
                raise ValueError(f"{key!r}: expected check.measurement, such as web.rate")
        if self.min_history < 2 * 86400:
            raise ValueError("min_history: expected 2d or more (a trend needs days)")


class DailyReportJob(JobBase, frozen=True, kw_only=True, tag="daily-report"):
    """The daily report to a channel (opsbook report daily): the health check, the last day's
    changes, who is on call, what is due this week. It needs no keys of its own."""

    action_kind = Action.DAILY_REPORT
    schedule: str = "0 9 * * *"

    def __post_init__(self) -> None:
        self._base_checks()


class SecurityAuditJob(SecurityUpdatesJob, frozen=True, kw_only=True, tag="security-audit"):
    """The monthly security audit: the security-updates review, plus the access logs' 4xx and
    probing, the TLS of the public endpoints, and what listens beyond loopback here."""

    action_kind = Action.SECURITY_AUDIT
    schedule: str = "0 10 1 * *"
    endpoints: tuple[str, ...] = ()  # https:// URLs the world uses
    ca_file: str | None = None  # more trusted CAs for the endpoints (a private CA)
    access_logs: tuple[str, ...] = ()  # default: logs.access, else nginx's
    since: Duration = Duration(31 * 86400.0)  # how much of the access logs is reviewed
    expected_ports: tuple[int, ...] | None = None  # others listening beyond loopback: WARNING

    def __post_init__(self) -> None:
        super().__post_init__()
        for url in self.endpoints:
            if not url.startswith("https://"):
                raise ValueError(f"endpoints: {url!r} is not an https:// URL")


class WeeklyReportJob(JobBase, frozen=True, kw_only=True, tag="weekly-report"):
    """The weekly review from the records (opsbook report weekly), to a channel."""

    action_kind = Action.WEEKLY_REPORT
    schedule: str = "0 9 * * 1"

    def __post_init__(self) -> None:
        self._base_checks()


class MonthlyReportJob(JobBase, frozen=True, kw_only=True, tag="monthly-report"):
    """The monthly review from the records, with the capacity forecast (opsbook report
    monthly), to a channel."""

    action_kind = Action.MONTHLY_REPORT
    schedule: str = "0 9 1 * *"

    def __post_init__(self) -> None:
        self._base_checks()


JOB_MODELS: dict[str, type[JobBase]] = {
    m.action_kind.value: m
    for m in (
        CommandJob,
        LogRetentionJob,
        SecurityUpdatesJob,
        DbMaintenanceJob,
        RestoreDrillJob,
        CapacityJob,
        DailyReportJob,
        SecurityAuditJob,
        WeeklyReportJob,
        MonthlyReportJob,
    )
}


def validate_jobs(value: Any, problems: list[Problem]) -> dict[str, JobBase]:
    return convert_named(value, ("jobs",), JOB_MODELS, problems, tag="action",
                         name_ok=is_check_name)  # fmt: skip


class JobCheck(RecordCheck, frozen=True, kw_only=True, tag="job"):
    """A job's health from the store: its last run good and none overdue.

    One is added for every job under jobs: (named job-<name>) unless the file defines a check
    of that name itself.
    """

    kind = CheckKind.JOB
    job: str
    schedule: str
    zone: str | None = None  # the schedule's time zone
    late_after: Duration = Duration(4200.0)  # after its time, a run not finished is overdue


def job_checks(
    jobs: dict[str, JobBase], checks: dict[str, Any], store: Any, timezone: str | None
) -> dict[str, Any]:
    out = dict(checks)
    for name, job in jobs.items():
        check_name = f"job-{name}"
        if check_name not in out:
            out[check_name] = JobCheck(
                job=name,
                schedule=job.schedule,
                zone=job.timezone or timezone,
                late_after=Duration(job.timeout + job.grace),
                severity=job.severity,
                store=store if isinstance(store, str) else None,
                description=f"job {name}: its last run good, none overdue",
            )
    return out
