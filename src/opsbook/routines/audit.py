"""The monthly security audit (the runbook's: trivy fs, gitleaks, a review of the 4xx in the
access logs), grown to what the audit is for: the security-updates review, the access logs'
probing and denials read by the log engine (answered probes first), the TLS the public
endpoints offer, and what listens beyond loopback on this host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from opsbook.config.jobs import SecurityAuditJob
from opsbook.routines import exposure, updates
from opsbook.routines.model import ActionReport, Area, Finding, markdown
from opsbook.status import Status

if TYPE_CHECKING:
    from opsbook.config.loader import LoadedConfig

DEFAULT_ACCESS = "/var/log/nginx/access.log"


def access_review(
    job: SecurityAuditJob, loaded: LoadedConfig, now: datetime
) -> tuple[list[Finding], list[str], list[str]]:
    """(findings, notes, lines) from the access logs of the last ``since``."""
    from pathlib import Path

    from opsbook.errors import OpsbookError
    from opsbook.logs.access import AccessQuery, analyse
    from opsbook.timefmt import zone

    settings = loaded.config.logs
    files = job.access_logs or settings.access or (DEFAULT_ACCESS,)
    present = tuple(f for f in files if Path(f).exists())
    if not present:
        return [], [f"no access log at {', '.join(files)}: probing and 4xx not reviewed"], []
    query = AccessQuery(
        files=present,
        log_format=settings.log_format,
        since=now - timedelta(seconds=job.since),
        top=10,
        forwarded=settings.forwarded_for,
        probe_paths=settings.probe_paths,
        zone=zone(loaded.config.timezone),
    )
    try:
        report = analyse(query)
    except OpsbookError as exc:
        return [], [f"access logs not reviewed: {exc}"], []
    findings: list[Finding] = []
    for probe in report.answered_probes:
        status = Status.WARNING if probe.catch_all else Status.CRITICAL
        why = "the same body as other probes: a catch-all page?" if probe.catch_all else ""
        findings.append(
            Finding(
                status,
                Area.ACCESS,
                f"{probe.ip} got {probe.status} for {probe.path} ({probe.requests}×)",
                why,
            )
        )
    fours = sum(n for code, n in report.statuses.items() if 400 <= code < 500)
    lines = [
        f"- {report.requests} requests from {', '.join(present)}; 4xx: {fours} "
        f"({report.share('4xx'):.1%}); 401: {report.statuses.get(401, 0)}, 403: "
        f"{report.statuses.get(403, 0)}, 404: {report.statuses.get(404, 0)}"
    ]
    lines += [f"- suspect {s.ip}: {'; '.join(s.reasons)}" for s in report.suspicious]
    if report.suspicious_total > len(report.suspicious):
        lines.append(f"- … {report.suspicious_total - len(report.suspicious)} more suspects")
    lines += [f"- not found: {c.name} ({c.requests}×)" for c in report.audience.not_found[:10]]
    return findings, [], lines


def perform(
    job: SecurityAuditJob, loaded: LoadedConfig, now: datetime | None = None
) -> ActionReport:
    now = now or datetime.now(UTC)
    base, base_sections = updates.review(job, now)
    findings = list(base.findings)
    notes = list(base.notes)
    access, said, access_lines = access_review(job, loaded, now)
    findings += access
    notes += said
    tls_lines: list[str] = []
    for url in job.endpoints:
        found, lines = exposure.endpoint(url, job.ca_file)
        findings += found
        tls_lines += lines
    listening, listen_lines = exposure.listener_findings(job.expected_ports)
    findings += listening
    answered = [f for f in access if f.status is Status.CRITICAL]
    tls_bad = [f for f in findings if f.area is Area.TLS and f.status is not Status.OK]
    parts = [base.summary]
    if answered:
        parts.append(f"{len(answered)} probe(s) ANSWERED")
    if job.endpoints:
        parts.append(f"{len(job.endpoints)} endpoint(s), {len(tls_bad)} TLS problem(s)")
    parts.append(f"{len(exposure.listeners())} listener(s) beyond loopback")
    summary = "; ".join(parts)
    figures = {
        **base.figures,
        "answered_probes": len(answered),
        "tls_problems": len(tls_bad),
        "listeners": len(listen_lines),
    }
    draft = ActionReport("security-audit", summary, tuple(findings), figures, tuple(notes))
    sections = [
        ("Access logs: probing and 4xx", access_lines),
        ("TLS", tls_lines),
        ("Listening beyond loopback", listen_lines),
        *base_sections,
    ]
    text = markdown("Security audit", draft, sections)
    return ActionReport(
        "security-audit", summary, tuple(findings), figures, tuple(notes), report=text
    )
