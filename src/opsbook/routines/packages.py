"""This host's packages: what apt would upgrade (its simulation: nothing changes), which of
those come from a security archive, whether a reboot is wanted, and whether the kernel running
is the newest installed one.

apt's answer is only as fresh as its package lists; their age is said, since opsbook never
runs `apt-get update` itself (that changes the machine; unattended-upgrades or the operator
does it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opsbook.routines.model import Area, Finding
from opsbook.status import Status
from opsbook.units import format_duration

# Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
_INST = re.compile(
    r"^Inst (?P<name>\S+)(?: \[(?P<old>[^\]]*)\])? \((?P<new>\S+) (?P<origins>.*?)"
    r" \[(?P<arch>[^\]]+)\]\)"
)
LISTS_STALE = 7 * 86400.0  # package lists older than this: what apt says may be out of date


@dataclass(frozen=True)
class Upgrade:
    name: str
    installed: str | None  # None: a new package pulled in
    candidate: str
    origins: tuple[str, ...]

    @property
    def security(self) -> bool:
        return any(
            "-security" in o.lower() or "security" in o.split(":")[0].lower() for o in self.origins
        )


def parse_simulation(text: str) -> list[Upgrade]:
    out = []
    for line in text.splitlines():
        m = _INST.match(line)
        if m:
            origins = tuple(o.strip() for o in m.group("origins").split(",") if o.strip())
            out.append(Upgrade(m.group("name"), m.group("old"), m.group("new"), origins))
    return out


def simulate(timeout: float = 300.0) -> tuple[list[Upgrade] | None, str]:
    """apt's upgrade plan, or None and why not (no apt here, or it failed)."""
    apt = shutil.which("apt-get")
    if apt is None:
        return None, "apt-get is not installed: package updates not looked at"
    env = {**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(  # -s: simulate; NoLocking: no lock needed, nothing changes
            [apt, "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"apt-get -s dist-upgrade did not answer within {format_duration(timeout)}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"apt-get -s dist-upgrade failed: {last}"
    return parse_simulation(done.stdout), ""


def lists_age(now: datetime, lists: Path = Path("/var/lib/apt/lists")) -> float | None:
    try:
        stamps = [p.stat().st_mtime for p in lists.iterdir() if p.name.endswith("Release")]
    except OSError:
        return None
    return now.timestamp() - max(stamps) if stamps else None


def package_findings(upgrades: list[Upgrade], age: float | None) -> list[Finding]:
    security = [u for u in upgrades if u.security]
    out = []
    if security:
        names = ", ".join(u.name for u in security[:15]) + (" …" if len(security) > 15 else "")
        out.append(
            Finding(
                Status.WARNING, Area.PACKAGES, f"{len(security)} security update(s) pending", names
            )
        )
    others = len(upgrades) - len(security)
    if others:
        out.append(Finding(Status.OK, Area.PACKAGES, f"{others} other update(s) pending"))
    if age is not None and age > LISTS_STALE:
        out.append(
            Finding(
                Status.WARNING,
                Area.PACKAGES,
                f"apt's package lists are {format_duration(age)} old",
                "run apt-get update (or enable unattended-upgrades) for a true answer",
            )
        )
    return out


def reboot_findings(run_dir: Path = Path("/run")) -> list[Finding]:
    flag = run_dir / "reboot-required"
    if not flag.exists():
        return []
    try:
        pkgs = (run_dir / "reboot-required.pkgs").read_text().split()
    except OSError:
        pkgs = []
    detail = f"for: {', '.join(sorted(set(pkgs)))}" if pkgs else ""
    return [Finding(Status.WARNING, Area.KERNEL, "a reboot is required", detail)]


def kernel_findings(
    now: datetime, max_age: float, boot: Path = Path("/boot"), running: str | None = None
) -> tuple[list[Finding], list[str]]:
    """Is the newest installed kernel the one running? Installed kernels are /boot/vmlinuz-*;
    their age is when the file was written (installed)."""
    running = running or os.uname().release
    lines = [f"- running kernel {running}"]
    installed = {}
    for image in boot.glob("vmlinuz-*"):
        try:
            installed[image.name.removeprefix("vmlinuz-")] = image.stat().st_mtime
        except OSError:
            continue
    if not installed:
        return [], [*lines, "- no kernel images in /boot (a container or a VM booted from outside)"]
    newest = max(installed, key=_version_key)
    if newest == running or _version_key(newest) <= _version_key(running):
        return [], [*lines, f"- the newest installed kernel ({newest}) is running"]
    waited = now.timestamp() - installed[newest]
    status = Status.CRITICAL if waited > max_age else Status.WARNING
    said = f"installed {format_duration(waited)} ago; reboot to run it"
    lines.append(f"- newer kernel {newest} {said}")
    return [
        Finding(status, Area.KERNEL, f"kernel {newest} is installed but {running} runs", said)
    ], lines


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Kernel versions compared part by part, numbers as numbers: 6.1.0-28 > 6.1.0-9."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.\-+~]", version))
