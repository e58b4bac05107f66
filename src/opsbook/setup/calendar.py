"""The runbook's calendar, as `opsbook init` writes it under jobs: (docs/jobs.md).

A job whose pieces are missing here is written commented out, saying what it waits for: the
database maintenance without a database found, the restore drill until backups: exist (it
cannot be valid before), scans by trivy and gitleaks when they are not installed.
"""

from __future__ import annotations

import shutil

from opsbook.setup.discover import Discovery


def _block(lines: list[str], enabled: bool) -> list[str]:
    return lines if enabled else [ln[:2] + "# " + ln[2:] for ln in lines]


def jobs_section(found: Discovery) -> list[str]:
    trivy, gitleaks = shutil.which("trivy"), shutil.which("gitleaks")
    missing = [name for name, path in (("trivy", trivy), ("gitleaks", gitleaks)) if not path]
    scan_note = (
        f"    # {' and '.join(missing)} not installed here: images and trees are scanned once "
        "they are (detect-secrets scans scan_paths meanwhile)." if missing
        else "    # trivy and gitleaks found: images and trees are scanned."
    )  # fmt: skip
    access = found.access_log or "/var/log/nginx/access.log"
    endpoint = "https://example.com/"
    out = [
        "",
        "# The runbook's calendar: `opsbook serve` runs these on time (once across instances),",
        "# records every run (`opsbook jobs list`, `opsbook jobs history`) and alerts when one",
        "# fails or is overdue (the job-<name> checks). Add `notify: <channel or group>` to a",
        "# job to receive its report. Times are in `timezone:` (else UTC).",
        "jobs:",
        "  # Daily 09:00: the morning report (the health check, the last day, who is on call).",
        "  morning-report:",
        "    action: daily-report",
        '    schedule: "0 9 * * *"',
        "",
        '  # Daily: the runbook\'s find /var/log -name "*.log.*" -mtime +30 -delete, safely: a',
        "  # dry run until you set dry_run: false; open files are never deleted.",
        "  log-retention:",
        "    action: log-retention",
        '    schedule: "30 3 * * *"',
        '    paths: ["/var/log/nginx/*.log.*", "/var/log/*.log.*", "/var/log/*.gz"]',
        "    older_than: 30d",
        "    dry_run: true",
        '    logs: ["/var/log/nginx/*.log"]',
        "",
        "  # Monday 02:00: pending and security updates (apt's simulation, nothing installed),",
        "  # reboot and kernel, image and tree scans.",
        "  security-updates:",
        "    action: security-updates",
        '    schedule: "0 2 * * 1"',
        scan_note,
        "    # images: [your-registry/fraiseql:latest]",
        "    # scan_paths: [/srv/fraiseql]",
        "",
    ]
    db = found.postgres is not None
    where = "" if db else " (no database found: uncomment with the db check)"
    out += ["  # Sunday 03:00: VACUUM ANALYZE, REINDEX of invalid and bloated indexes, and the"]
    out += [f"  # unused-index, slow-query and bloat reports compared with last week{where}."]
    out += _block(["  db-maintenance:", "    action: db-maintenance", '    schedule: "0 3 * * 0"',
                   "    target: db"], db)  # fmt: skip
    out += [
        "",
        "  # Monday 09:00 and the 1st of the month: the weekly and monthly reviews.",
        "  weekly-report:",
        "    action: weekly-report",
        '    schedule: "0 9 * * 1"',
        "  monthly-report:",
        "    action: monthly-report",
        '    schedule: "0 9 1 * *"',
        "",
        "  # The 1st, 08:00: when disk, database, connections, Redis memory and traffic reach",
        "  # their limits (a forecast under 30 days is a warning).",
        "  capacity-review:",
        "    action: capacity-review",
        '    schedule: "0 8 1 * *"',
        "",
        "  # The 1st, 10:00: the security audit: updates, scans, the access logs' probing and",
        "  # 4xx, TLS of your public endpoints, what listens beyond loopback.",
        "  security-audit:",
        "    action: security-audit",
        '    schedule: "0 10 1 * *"',
        f"    access_logs: [{access}]",
        f"    # endpoints: [{endpoint}]",
        "",
        "  # The 1st, 05:00: the monthly restore test. Add backups: (docs/backups.md), then:",
        '  # restore-drill: {action: restore-drill, schedule: "0 5 1 * *"}',
    ]
    return out
