"""The security scanners a team already trusts, when installed: `trivy image` for container
images, `trivy fs` and `gitleaks` for a tree; their JSON read into findings. A scanner that is
not installed is said once, as a note, never a failure. detect-secrets (a Python library, a
dependency of opsbook) always scans the configured trees, so the audit means something on a
machine without the others.

A secret found is named by file, line and kind; its value never leaves this module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opsbook.routines.model import Area, Finding
from opsbook.status import Status

SCAN_TIMEOUT = 1800.0
SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache", ".tox"}
MAX_FILE = 2 * 1024 * 1024  # larger files are data, not code or config
_SEVERITY = {"CRITICAL": Status.CRITICAL, "HIGH": Status.WARNING}


def _tool_json(argv: list[str]) -> tuple[Any, str]:
    """Run a scanner; its JSON document, or None and why not."""
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=SCAN_TIMEOUT,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
    except subprocess.TimeoutExpired:
        return None, f"{argv[0]} {argv[1]} did not finish within 30 min"
    try:
        return json.loads(done.stdout or "null"), ""
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"{Path(argv[0]).name} {argv[1]} failed: {last[:200]}"


def trivy(kind: str, targets: tuple[str, ...]) -> tuple[list[Finding], list[str], list[str]]:
    """(findings, notes, report lines) of `trivy image|fs` on each target."""
    if not targets:
        return [], [], []
    exe = shutil.which("trivy")
    if exe is None:
        what = "images" if kind == "image" else "trees"
        return [], [f"trivy is not installed: {what} not scanned for vulnerabilities"], []
    findings, notes, lines = [], [], []
    for target in targets:
        doc, why = _tool_json([exe, kind, "--quiet", "--format", "json", target])
        if doc is None:
            notes.append(why)
            continue
        counts: Counter[str] = Counter()
        fixable: Counter[str] = Counter()
        for result in doc.get("Results") or []:
            for vuln in result.get("Vulnerabilities") or []:
                sev = str(vuln.get("Severity", "UNKNOWN")).upper()
                counts[sev] += 1
                if vuln.get("FixedVersion"):
                    fixable[sev] += 1
        said = (
            ", ".join(
                f"{counts[s]} {s}" for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW") if counts[s]
            )
            or "no known vulnerabilities"
        )
        lines.append(f"- trivy {kind} {target}: {said}")
        for sev, status in _SEVERITY.items():
            if counts[sev]:
                findings.append(
                    Finding(
                        status,
                        Area.IMAGES if kind == "image" else Area.TREE,
                        f"{target}: {counts[sev]} {sev} vulnerabilities",
                        f"{fixable[sev]} with a fixed version",
                    )
                )
    return findings, notes, lines


def gitleaks(paths: tuple[str, ...]) -> tuple[list[Finding], list[str], list[str]]:
    if not paths:
        return [], [], []
    exe = shutil.which("gitleaks")
    if exe is None:
        return [], ["gitleaks is not installed: trees scanned by detect-secrets only"], []
    findings, notes, lines = [], [], []
    for path in paths:
        doc, why = _tool_json(
            [
                exe,
                "detect",
                "--no-git",
                "--source",
                path,
                "--report-format",
                "json",
                "--report-path",
                "/dev/stdout",
                "--exit-code",
                "0",
                "--no-banner",
                "--log-level",
                "error",
            ]
        )
        if doc is None:
            notes.append(why)
            continue
        leaks = doc if isinstance(doc, list) else []
        lines.append(f"- gitleaks {path}: {len(leaks)} leak(s)")
        for leak in leaks[:50]:
            where = f"{leak.get('File', '?')}:{leak.get('StartLine', '?')}"
            findings.append(
                Finding(
                    Status.CRITICAL, Area.SECRETS, f"secret in {where}", str(leak.get("RuleID", ""))
                )
            )
    return findings, notes, lines


def files_under(root: str) -> Iterator[str]:
    if Path(root).is_file():
        yield root
        return
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = Path(top) / name
            try:
                if path.is_symlink() or path.stat().st_size > MAX_FILE:
                    continue
            except OSError:
                continue
            yield str(path)


def detect_secrets(paths: tuple[str, ...]) -> tuple[list[Finding], list[str], list[str]]:
    """detect-secrets' plugins (keys, tokens, private keys, high-entropy strings in
    assignments) over every file under ``paths``."""
    if not paths:
        return [], [], []
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import default_settings

    found: dict[tuple[str, int], set[str]] = {}
    scanned = 0
    notes = []
    collection = SecretsCollection()
    with default_settings():
        for root in paths:
            if not Path(root).exists():
                notes.append(f"{root}: no such file or directory; not scanned")
                continue
            for path in files_under(root):
                collection.scan_file(path)
                scanned += 1
    for filename, secret in collection:
        found.setdefault((filename, secret.line_number), set()).add(secret.type)
    findings = [
        Finding(
            Status.WARNING, Area.SECRETS, f"possible secret in {f}:{line}", ", ".join(sorted(kinds))
        )
        for (f, line), kinds in sorted(found.items())
    ]
    lines = [f"- detect-secrets: {scanned} file(s) scanned, {len(findings)} possible secret(s)"]
    return findings, notes, lines
