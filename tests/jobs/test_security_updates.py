"""The security-updates review on this machine: apt's real simulation counted against apt's
own output, the kernel and reboot flags, detect-secrets on a tree with planted secrets (their
values never printed), and scanners that are not installed said once, not failed on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsbook.routines import packages
from opsbook.status import Status
from tests.conftest import CliResult

AWS = "AKIAIOSFODNN7EXAMPLE"
TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PRIVATE = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn\n"
    "-----END RSA PRIVATE KEY-----\n"
)


def _tree(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "settings.py").write_text(f'DEBUG = False\nAWS_ACCESS_KEY_ID = "{AWS}"\n')
    (root / "app" / "deploy.yaml").write_text(f"image: api:1.4\ngithub_token: {TOKEN}\n")
    (root / "keys").mkdir()
    (root / "keys" / "id_rsa").write_text(PRIVATE)
    (root / "app" / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text(f"token = {TOKEN}\n")  # skipped: not the tree
    return root


def _config(tmp_path: Path, tree: Path) -> Path:
    path = tmp_path / "opsbook.yaml"
    path.write_text(f"""
store: sqlite:///{tmp_path / "ops.db"}
checks:
  mem: {{type: memory}}
jobs:
  updates:
    action: security-updates
    schedule: "0 2 * * 1"
    images: [registry.example/api:1.4]
    scan_paths: [{tree}]
""")
    return path


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="apt is Debian's")
def test_the_review_counts_what_apt_would_upgrade_and_finds_planted_secrets(
    tmp_path: Path, cli: CliResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _tree(tmp_path / "tree")
    monkeypatch.setenv("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")  # no trivy, no gitleaks
    result = cli("jobs", "exec", "updates", "-f", "json", "--config", str(_config(tmp_path, tree)))
    report = json.loads(result.out)
    apt = subprocess.run(["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "LC_ALL": "C"}).stdout  # fmt: skip
    inst = [line for line in apt.splitlines() if line.startswith("Inst ")]
    security = [line for line in inst if "-security" in line.split("(", 1)[1]]
    assert report["figures"]["updates"] == len(inst)
    assert report["figures"]["security_updates"] == len(security)
    secrets = sorted(f["title"] for f in report["findings"] if f["area"] == "secrets")
    assert secrets == [f"possible secret in {tree}/app/deploy.yaml:2",
                       f"possible secret in {tree}/app/settings.py:2",
                       f"possible secret in {tree}/keys/id_rsa:1"]  # fmt: skip
    for value in (AWS, TOKEN, "MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn"):
        assert value not in result.out and value not in result.err
    assert "trivy is not installed: images not scanned for vulnerabilities" in report["notes"]
    assert "gitleaks is not installed: trees scanned by detect-secrets only" in report["notes"]
    assert report["status"] in ("WARNING", "CRITICAL")  # planted secrets at least
    assert result.code == {"WARNING": 1, "CRITICAL": 2}[report["status"]]
    assert "## Not looked at" in report["report"]


def test_apt_simulation_lines_are_read_as_apt_writes_them() -> None:
    security = "Debian-Security:12/oldstable-security"
    text = f"""Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
Inst libssl3 [3.0.19-1~deb12u2] (3.0.22-1~deb12u2 Debian:12.15/oldstable, {security} [amd64])
Inst linux-image-6.1.0-29-amd64 (6.1.123-1 Debian-Security:12/stable-security [amd64])
Conf bash (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
"""
    found = packages.parse_simulation(text)
    assert [(u.name, u.installed, u.candidate, u.security) for u in found] == [
        ("bash", "5.2.15-2+b8", "5.2.15-2+b13", False),
        ("libssl3", "3.0.19-1~deb12u2", "3.0.22-1~deb12u2", True),
        ("linux-image-6.1.0-29-amd64", None, "6.1.123-1", True),
    ]


def test_a_newer_kernel_waiting_for_a_reboot_is_said_and_ages(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    now = datetime.now(UTC)
    for version, days in (("6.1.0-9-amd64", 200), ("6.1.0-28-amd64", 40)):
        image = boot / f"vmlinuz-{version}"
        image.write_bytes(b"\0")
        stamp = time.time() - days * 86400
        os.utime(image, (stamp, stamp))
    old, _ = packages.kernel_findings(now, 30 * 86400, boot, running="6.1.0-9-amd64")
    assert [(f.status, f.title) for f in old] == [
        (Status.CRITICAL, "kernel 6.1.0-28-amd64 is installed but 6.1.0-9-amd64 runs")
    ]
    assert "installed 40d ago" in old[0].detail
    young, _ = packages.kernel_findings(now, 60 * 86400, boot, running="6.1.0-9-amd64")
    assert young[0].status is Status.WARNING
    current, lines = packages.kernel_findings(now, 30 * 86400, boot, running="6.1.0-28-amd64")
    assert current == [] and "is running" in lines[-1]
    run = tmp_path / "run"
    run.mkdir()
    assert packages.reboot_findings(run) == []
    (run / "reboot-required").write_text("*** System restart required ***\n")
    (run / "reboot-required.pkgs").write_text("linux-image-6.1.0-28-amd64\nlibc6\n")
    [flag] = packages.reboot_findings(run)
    assert flag.title == "a reboot is required"
    assert flag.detail == "for: libc6, linux-image-6.1.0-28-amd64"


TRIVY_REPORT = {  # trivy's JSON report (schema 2), as `trivy image --format json` writes it
    "SchemaVersion": 2,
    "ArtifactName": "registry.example/api:1.4",
    "ArtifactType": "container_image",
    "Results": [
        {
            "Target": "registry.example/api:1.4 (debian 12.5)",
            "Class": "os-pkgs",
            "Type": "debian",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-5535",
                    "PkgName": "libssl3",
                    "InstalledVersion": "3.0.11",
                    "FixedVersion": "3.0.14",
                    "Severity": "CRITICAL",
                },
                {
                    "VulnerabilityID": "CVE-2024-2511",
                    "PkgName": "libssl3",
                    "InstalledVersion": "3.0.11",
                    "FixedVersion": "",
                    "Severity": "HIGH",
                },
                {
                    "VulnerabilityID": "CVE-2023-7008",
                    "PkgName": "libsystemd0",
                    "InstalledVersion": "252.22",
                    "Severity": "MEDIUM",
                },
            ],
        },
        {"Target": "app/requirements.txt", "Class": "lang-pkgs", "Type": "pip"},
    ],
}
GITLEAKS_REPORT = [  # gitleaks' JSON report, as `gitleaks detect --report-format json` writes it
    {
        "Description": "AWS Access Key",
        "StartLine": 2,
        "EndLine": 2,
        "Match": AWS,
        "Secret": AWS,
        "File": "app/settings.py",
        "RuleID": "aws-access-token",
        "Fingerprint": "app/settings.py:aws:2",
    },
]


def test_scanner_reports_are_read_into_findings_without_their_secrets(
    tmp_path: Path, cli: CliResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trivy and gitleaks are packaged by neither Debian nor PyPI, so this machine cannot run
    them: stand-ins on PATH print the reports the real ones write, in their documented shape."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name, doc in (("trivy", TRIVY_REPORT), ("gitleaks", GITLEAKS_REPORT)):
        (tools / f"{name}.json").write_text(json.dumps(doc))
        script = tools / name
        script.write_text(f"#!/bin/sh\ncat {tools / name}.json\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin:/usr/sbin:/sbin")
    tree = _tree(tmp_path / "tree")
    result = cli("jobs", "exec", "updates", "-f", "json", "--config", str(_config(tmp_path, tree)))
    report = json.loads(result.out)
    titles = {f["title"]: f for f in report["findings"]}
    image = titles["registry.example/api:1.4: 1 CRITICAL vulnerabilities"]
    assert image["status"] == "CRITICAL" and image["detail"] == "1 with a fixed version"
    assert titles["registry.example/api:1.4: 1 HIGH vulnerabilities"]["detail"] == (
        "0 with a fixed version"
    )
    assert titles["secret in app/settings.py:2"]["status"] == "CRITICAL"
    assert (
        "- trivy image registry.example/api:1.4: 1 CRITICAL, 1 HIGH, 1 MEDIUM" in report["report"]
    )
    assert not [n for n in report["notes"] if "not installed" in n]
    assert AWS not in result.out and result.code == 2
