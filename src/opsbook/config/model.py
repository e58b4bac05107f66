"""The whole opsbook.yaml, validated section by section.

msgspec reports a dict's keys as ``[...]`` in error paths, so sections holding named items
(``checks``) are walked here and each item validated on its own: every error then names its
exact key path, and one bad check does not hide the problems of the others.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import msgspec

from opsbook.config.actions import (
    ActionConfig,
    ProcedureConfig,
    validate_actions,
    validate_procedures,
)
from opsbook.config.backups import Backups, backup_checks, validate_backups
from opsbook.config.checks import CheckBase
from opsbook.config.daemon import HeartbeatConfig, IntakeConfig, RetentionConfig, ServerConfig
from opsbook.config.jobs import JobBase, job_checks, validate_jobs
from opsbook.config.log_checks import with_store
from opsbook.config.logs import LogsConfig
from opsbook.config.maintenance import WindowConfig
from opsbook.config.paging_section import PAGING_KEYS, Paging, validate_paging
from opsbook.config.problems import (
    Path_,
    Problem,
    convert_section,
    short,
    translate,
    unknown_key,
)
from opsbook.config.registry import CHECK_MODELS, CheckConfig
from opsbook.config.severities import SEVERITY_KEYS, SeverityConfig
from opsbook.config.trends import TrendsConfig
from opsbook.config.types import decode_hook, is_check_name
from opsbook.config.users import UserConfig, validate_users
from opsbook.results import CheckKind

TOP_LEVEL_KEYS = (
    "service",
    "timezone",
    "store",
    "server",
    "intake",
    "retention",
    "heartbeat",
    "severities",
    "maintenance",
    *PAGING_KEYS,
    "backups",
    "logs",
    "trends",
    "jobs",
    "actions",
    "procedures",
    "users",
    "checks",
)
STORE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")


@dataclass(frozen=True)
class Config:
    service: str = "service"
    timezone: str | None = None  # IANA name for human output; None: this machine's zone
    store: str | None = None  # database URL; None: SQLite in the data directory
    server: ServerConfig = field(default_factory=ServerConfig)
    intake: IntakeConfig = field(default_factory=IntakeConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    severities: dict[int, SeverityConfig] = field(default_factory=dict)  # overrides, by level
    maintenance: tuple[WindowConfig, ...] = ()
    paging: Paging = field(default_factory=Paging)
    checks: dict[str, CheckBase] = field(default_factory=dict)
    backups: Backups | None = None
    logs: LogsConfig = field(default_factory=LogsConfig)
    heartbeat: tuple[HeartbeatConfig, ...] = ()
    trends: TrendsConfig = field(default_factory=TrendsConfig)
    jobs: dict[str, JobBase] = field(default_factory=dict)
    actions: dict[str, ActionConfig] = field(default_factory=dict)
    procedures: dict[str, ProcedureConfig] = field(default_factory=dict)
    users: dict[str, UserConfig] = field(default_factory=dict)  # console users kept in git


def validate(data: dict[str, Any]) -> tuple[Config | None, list[Problem]]:
    problems: list[Problem] = []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.append(Problem((key,), unknown_key(key, TOP_LEVEL_KEYS)))
    service = data.get("service", "service")
    if not isinstance(service, str | int) or isinstance(service, bool) or service == "":
        problems.append(Problem(("service",), f"expected a name, got {service!r}"))
    raw_checks = data.get("checks")
    raw_checks = {} if raw_checks is None else raw_checks  # "checks:" with nothing under it
    checks: dict[str, CheckBase] = {}
    if not isinstance(raw_checks, dict):
        problems.append(Problem(("checks",), "expected a mapping of check names to checks"))
        raw_checks = {}
    for name, spec in raw_checks.items():
        path: Path_ = ("checks", name)
        if not is_check_name(str(name)):
            problems.append(
                Problem(
                    path,
                    "check names use letters, digits, '_', '.', '-' and start with a letter "
                    "or digit",
                )
            )
            continue
        check, problem = _check(spec, path)
        if problem:
            problems.append(problem)
        elif check is not None:
            checks[str(name)] = check
    timezone = _timezone(data.get("timezone"), problems)
    store = data.get("store")
    if store is not None and not (isinstance(store, str) and store.startswith(STORE_SCHEMES)):
        problems.append(
            Problem(
                ("store",),
                "expected a database URL: sqlite:////path/to/opsbook.db or "
                f"postgresql://user:password@host/db, got {short(store)}",
            )
        )
    severities = _severities(data.get("severities"), problems)
    server = convert_section(data.get("server"), ServerConfig, ("server",), problems)
    intake = convert_section(data.get("intake"), IntakeConfig, ("intake",), problems)
    retention = convert_section(data.get("retention"), RetentionConfig, ("retention",), problems)
    maintenance = _maintenance(data.get("maintenance"), problems)
    heartbeat = _heartbeats(data.get("heartbeat"), problems)
    paging = validate_paging(data, problems)
    backups = validate_backups(data.get("backups"), problems)
    logs = convert_section(data.get("logs"), LogsConfig, ("logs",), problems)
    trends = convert_section(data.get("trends"), TrendsConfig, ("trends",), problems)
    jobs = validate_jobs(data.get("jobs"), problems)
    _job_targets(jobs, paging, backups, problems)
    if backups is not None:
        checks = backup_checks(backups, checks, store)
    checks = job_checks(jobs, checks, store, timezone)
    actions = validate_actions(data.get("actions"), checks, problems)
    procedures = validate_procedures(data.get("procedures"), actions, checks, problems)
    users = validate_users(data.get("users"), problems)
    checks = with_store(checks, store if isinstance(store, str) else None)
    if trends is not None and not problems:
        _trend_checks(trends, checks, problems)
    if problems:
        return None, problems
    return Config(
        service=str(service),
        timezone=timezone,
        store=store,
        server=server,
        intake=intake,
        retention=retention,
        severities=severities,
        maintenance=maintenance,
        paging=paging,
        checks=checks,
        backups=backups,
        logs=logs,
        heartbeat=heartbeat,
        trends=trends,
        jobs=jobs,
        actions=actions,
        procedures=procedures,
        users=users,
    ), []


def _trend_checks(
    trends: TrendsConfig, checks: dict[str, CheckBase], problems: list[Problem]
) -> None:
    rules = [("degradation", n, r.check) for n, r in trends.degradation.items()]
    rules += [("spikes", n, r.check) for n, r in trends.spikes.items()]
    for section, name, check in rules:
        if check not in checks:
            known = ", ".join(sorted(checks)) or "none defined"
            problems.append(Problem(("trends", section, name, "check"),
                                    f"no check named {check!r} (checks: {known})"))  # fmt: skip


def _job_targets(
    jobs: dict[str, JobBase], paging: Paging, backups: Backups | None, problems: list[Problem]
) -> None:
    """What a job names (a channel, a backup source) must exist."""
    from opsbook.config.jobs import RestoreDrillJob

    for name, job in jobs.items():
        if job.notify is not None and (why := _report_target(job.notify, paging)):
            problems.append(Problem(("jobs", name, "notify"), why))
        if isinstance(job, RestoreDrillJob):
            sources = backups.sources if backups is not None else {}
            if not sources:
                said = "restore-drill needs backups: with a source to restore"
                problems.append(Problem(("jobs", name, "action"), said))
            elif job.source is not None and job.source not in sources:
                said = f"no backup source {job.source!r} (sources: {', '.join(sources)})"
                problems.append(Problem(("jobs", name, "source"), said))


def _report_target(name: str, paging: Paging) -> str | None:
    """Why a job's report cannot go to ``name``; None when it can."""
    from opsbook.config.paging import EmailChannel, PagerDutyChannel

    channel = paging.channels.get(name)
    if isinstance(channel, PagerDutyChannel):
        return (
            f"{name!r} is a PagerDuty channel, which pages; name a Slack or webhook channel, "
            "a person or a stakeholder group"
        )
    if isinstance(channel, EmailChannel):
        return f"{name!r} is an email channel; name the person or stakeholder group to mail"
    if channel is not None or name in paging.people or name in paging.stakeholders:
        return None
    known = ", ".join([*paging.channels, *paging.stakeholders, *paging.people]) or "none defined"
    return f"no channel, person or stakeholder group named {name!r} (known: {known})"


def _maintenance(value: Any, problems: list[Problem]) -> tuple[WindowConfig, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(Problem(("maintenance",), "expected a list of windows (- name: …)"))
        return ()
    windows = []
    for index, spec in enumerate(value):
        window = convert_section(spec, WindowConfig, ("maintenance", index), problems)
        if window is not None:
            windows.append(window)
    return tuple(windows)


def _heartbeats(value: Any, problems: list[Problem]) -> tuple[HeartbeatConfig, ...]:
    if value is None:
        return ()
    if isinstance(value, dict):  # one, written without the list
        value = [value]
    if not isinstance(value, list):
        problems.append(Problem(("heartbeat",), "expected a list of ping URLs (- url: …)"))
        return ()
    found = []
    for index, spec in enumerate(value):
        beat = convert_section(spec, HeartbeatConfig, ("heartbeat", index), problems)
        if beat is not None:
            found.append(beat)
    return tuple(found)


def _timezone(value: Any, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(
            Problem(
                ("timezone",),
                f"unknown time zone {value!r}; expected a name such as "
                "Europe/Paris, America/New_York or UTC",
            )
        )
        return None
    return str(value)


def _severities(value: Any, problems: list[Problem]) -> dict[int, SeverityConfig]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(Problem(("severities",), "expected a mapping of SEV-1 … SEV-4"))
        return {}
    out: dict[int, SeverityConfig] = {}
    for key, spec in value.items():
        path: Path_ = ("severities", key)
        level = SEVERITY_KEYS.get(str(key).upper())
        if level is None:
            problems.append(
                Problem(path, f"unknown severity {key!r}; expected SEV-1, SEV-2, SEV-3 or SEV-4")
            )
            continue
        try:
            out[level] = msgspec.convert(spec or {}, SeverityConfig, dec_hook=decode_hook)
        except msgspec.ValidationError as exc:
            problems.append(translate(str(exc), spec, path, SeverityConfig))
    return out


def _check(spec: Any, path: Path_) -> tuple[CheckBase | None, Problem | None]:
    if not isinstance(spec, dict):
        return None, Problem(path, f"expected a mapping with a type: key, got {spec!r}")
    kinds = ", ".join(k.value for k in CheckKind)
    kind = spec.get("type")
    if kind is None:
        for key in spec:  # `tpye: redis` is a misspelt key, said at its own line
            if difflib.get_close_matches(str(key), ["type"], n=1):
                said = f"unknown key {short(key)}; did you mean 'type'? ({kinds})"
                return None, Problem((*path, key), said)
        return None, Problem(path, f"missing 'type:'; expected one of: {kinds}")
    if not isinstance(kind, str) or kind not in {k.value for k in CheckKind}:
        return None, Problem(path, f"unknown check type {short(kind)}; expected one of: {kinds}")
    try:
        check = msgspec.convert(spec, CheckConfig, dec_hook=decode_hook)
    except msgspec.ValidationError as exc:
        return None, translate(str(exc), spec, path, CHECK_MODELS[CheckKind(kind)])
    return check, None
