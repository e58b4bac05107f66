"""The Monday security-updates review: packages (apt's simulation), reboot and kernel, images
and trees by the scanners installed, and detect-secrets always (docs/jobs.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from opsbook.config.jobs import SecurityUpdatesJob
from opsbook.routines import packages, scanners
from opsbook.routines.model import ActionReport, Area, Finding, markdown
from opsbook.status import Status

Sections = list[tuple[str, list[str]]]


def perform(job: SecurityUpdatesJob, now: datetime | None = None) -> ActionReport:
    draft, sections = review(job, now or datetime.now(UTC))
    text = markdown("Security updates review", draft, sections)
    return ActionReport(
        draft.action, draft.summary, draft.findings, draft.figures, draft.notes, report=text
    )


def review(job: SecurityUpdatesJob, now: datetime) -> tuple[ActionReport, Sections]:
    """The review without its page: what the security audit builds on."""
    findings: list[Finding] = []
    notes: list[str] = []
    upgrades, why = packages.simulate()
    package_lines: list[str] = []
    if upgrades is None:
        notes.append(why)
    else:
        findings += packages.package_findings(upgrades, packages.lists_age(now))
        package_lines = [
            f"- {u.name} {u.installed or '(new)'} → {u.candidate}"
            + (" **security**" if u.security else "")
            for u in upgrades[:100]
        ]
    findings += packages.reboot_findings()
    kernel, kernel_lines = packages.kernel_findings(now, job.kernel_max_age)
    findings += kernel
    scans: list[str] = []
    for found, said, lines in (
        scanners.trivy("image", job.images),
        scanners.trivy("fs", job.scan_paths),
        scanners.gitleaks(job.scan_paths),
        scanners.detect_secrets(job.scan_paths),
    ):
        findings += found
        notes += said
        scans += lines
    security = sum(1 for u in upgrades or [] if u.security)
    parts = (
        [f"{len(upgrades)} update(s) pending, {security} security"]
        if upgrades is not None
        else ["packages not looked at"]
    )
    parts += [f.title for f in findings if f.area is Area.KERNEL]
    secrets = [f for f in findings if f.area is Area.SECRETS]
    if secrets:
        parts.append(f"{len(secrets)} possible secret(s) in the tree")
    vulns = [
        f for f in findings if f.area in (Area.IMAGES, Area.TREE) and f.status is not Status.OK
    ]
    if vulns:
        parts.append(f"{len(vulns)} vulnerable image(s)/tree(s)")
    figures = {
        "updates": len(upgrades or []),
        "security_updates": security,
        "reboot_required": any(f.title == "a reboot is required" for f in findings),
        "secrets": len(secrets),
        "vulnerable_targets": len(vulns),
    }
    summary = "; ".join(parts)
    draft = ActionReport("security-updates", summary, tuple(findings), figures, tuple(notes))
    return draft, [("Pending updates", package_lines), ("Kernel", kernel_lines), ("Scans", scans)]
