"""Log retention: the runbook's `find /var/log -name "*.log.*" -mtime +30 -delete`, done
safely, and a look at whether rotation itself works.

Only regular files matched by the configured globs are candidates (never a symlink, never a
directory, nothing else on the disk); a file some process holds open (found by inode in
/proc/*/fd, so a renamed file is still recognised) is kept and said; a dry run deletes
nothing. Rotation: logrotate's state file says when it last ran and when each log was last
rotated; a live log over ``max_size`` has not been rotated.
"""

from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsbook.config.jobs import LogRetentionJob
from opsbook.routines.model import ActionReport, Area, Finding, markdown
from opsbook.status import Status
from opsbook.units import format_bytes, format_duration

LOGROTATE_STALE = timedelta(days=2)  # logrotate runs daily; two days without is news


@dataclass(frozen=True)
class Candidate:
    path: str
    size: int
    age_s: float
    holder: str | None  # "pid 812 (nginx)" when open


def open_files() -> tuple[dict[tuple[int, int], str], int]:
    """(device, inode) of every file a process has open, with who: pid and command; and how
    many processes' open files could not be seen (another user's, without root)."""
    found: dict[tuple[int, int], str] = {}
    blind = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except PermissionError:
            blind += 1
            continue
        except OSError:  # gone meanwhile
            continue
        comm = ""
        for fd in fds:
            try:
                st = fd.stat()  # follows the link to the open file
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                if not comm:
                    try:
                        comm = (proc / "comm").read_text().strip()
                    except OSError:
                        comm = "?"
                found.setdefault((st.st_dev, st.st_ino), f"pid {proc.name} ({comm})")
    return found, blind


def candidates(job: LogRetentionJob, now: datetime) -> tuple[list[Candidate], list[str], int]:
    """Files the globs match that are older than ``older_than``; what could not be read; how
    many processes' open files could not be seen."""
    held, blind = open_files()
    seen: set[str] = set()
    out: list[Candidate] = []
    problems: list[str] = []
    for pattern in job.paths:
        for path in sorted(glob.glob(pattern, recursive=True)):
            if path in seen:
                continue
            seen.add(path)
            try:
                st = os.lstat(path)
            except OSError as exc:
                problems.append(f"{path}: {exc.strerror}")
                continue
            if not stat.S_ISREG(st.st_mode):  # symlinks, directories, devices: never
                continue
            age = now.timestamp() - st.st_mtime
            if age >= job.older_than:
                out.append(Candidate(path, st.st_size, age, held.get((st.st_dev, st.st_ino))))
    return out, problems, blind


def logrotate_findings(job: LogRetentionJob, now: datetime) -> tuple[list[Finding], list[str]]:
    state = Path(job.logrotate_state)
    try:
        text = state.read_text(errors="replace")
        ran = datetime.fromtimestamp(state.stat().st_mtime, UTC)
    except FileNotFoundError:
        return [
            Finding(
                Status.WARNING,
                Area.LOGS,
                f"no logrotate state at {state}",
                "is logrotate installed and run daily (its cron job or timer)?",
            )
        ], []
    except OSError as exc:
        return [Finding(Status.WARNING, Area.LOGS, f"{state}: {exc.strerror}")], []
    findings = []
    lines = [f"- logrotate last wrote its state {format_duration((now - ran).total_seconds())} ago"]
    if now - ran > LOGROTATE_STALE:
        findings.append(
            Finding(
                Status.WARNING,
                Area.LOGS,
                f"logrotate has not run for {format_duration((now - ran).total_seconds())}",
                f"its state file {state} was last written {ran:%Y-%m-%d %H:%M} UTC",
            )
        )
    rotated = _rotation_dates(text)
    for pattern in job.logs:
        for path in sorted(glob.glob(pattern)):
            try:
                size = Path(path).stat().st_size
            except OSError:
                continue
            when = rotated.get(path)
            said = f"last rotated {when}" if when else "not in logrotate's state"
            lines.append(f"- {path}: {format_bytes(size)}, {said}")
            if size > job.max_bytes:
                findings.append(
                    Finding(
                        Status.WARNING,
                        Area.LOGS,
                        f"{path} is {format_bytes(size)}: not rotated",
                        said,
                    )
                )
    return findings, lines


def _rotation_dates(text: str) -> dict[str, str]:
    """logrotate's state: `"/var/log/x.log" 2026-12-2-6:25:1` per line."""
    out = {}
    for line in text.splitlines()[1:]:
        path, _, when = line.rpartition(" ")
        if path.startswith('"') and path.endswith('"'):
            out[path[1:-1]] = when
    return out


def perform(job: LogRetentionJob, now: datetime | None = None) -> ActionReport:
    now = now or datetime.now(UTC)
    found, unreadable, blind = candidates(job, now)
    removable = [c for c in found if c.holder is None]
    kept = [c for c in found if c.holder is not None]
    findings: list[Finding] = []
    deleted: list[Candidate] = []
    if blind and not job.dry_run and removable:
        findings.append(
            Finding(
                Status.WARNING,
                Area.LOGS,
                f"nothing deleted: the open files of {blind} process(es) cannot be seen",
                "run opsbook serve as "
                "root (or as the logs' owner with CAP_SYS_PTRACE) to prune logs",
            )
        )
        removable = []
    for c in removable:
        if job.dry_run:
            continue
        try:
            Path(c.path).unlink()
        except OSError as exc:
            findings.append(
                Finding(
                    Status.WARNING,
                    Area.LOGS,
                    f"could not delete {c.path}",
                    exc.strerror or str(exc),
                )
            )
        else:
            deleted.append(c)
    for c in kept:
        findings.append(Finding(Status.OK, Area.LOGS, f"kept {c.path}: open by {c.holder}"))
    for text in unreadable:
        findings.append(Finding(Status.WARNING, Area.LOGS, f"could not read {text}"))
    rotation, rotation_lines = logrotate_findings(job, now)
    findings += rotation
    gone = removable if job.dry_run else deleted
    freed = sum(c.size for c in gone)
    older = format_duration(job.older_than)
    verb = "would delete" if job.dry_run else "deleted"
    summary = f"{verb} {len(gone)} file(s), {format_bytes(freed)}, older than {older}"
    if job.dry_run:
        summary = "dry run: " + summary
    if kept:
        summary += f"; {len(kept)} kept (open by a process)"
    rotation_problems = [f for f in rotation if f.status is not Status.OK]
    if rotation_problems:
        summary += f"; {rotation_problems[0].title}"
    figures = {
        "files": len(gone),
        "bytes": freed,
        "kept_open": len(kept),
        "dry_run": job.dry_run,
        "paths": [c.path for c in gone],
    }
    report = ActionReport("log-retention", summary, tuple(findings), figures)
    listing = [
        f"- {c.path} ({format_bytes(c.size)}, {format_duration(c.age_s)} old)" for c in gone[:200]
    ]
    text = markdown(
        "Log retention", report, [(f"Files ({verb})", listing), ("Rotation", rotation_lines)]
    )
    return ActionReport("log-retention", summary, tuple(findings), figures, report=text)
