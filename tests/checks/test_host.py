"""disk, memory and load of this host, against its real numbers."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook.checks.memory import read_meminfo
from opsbook.status import Status

from .helpers import run


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of the test's own, to fill for real (CI runs as root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,nr_inodes=200", "tmpfs", str(mount)],
                   check=True)  # fmt: skip
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path, mib: float) -> None:
    (mount / f"fill-{mib}").write_bytes(b"\0" * int(mib * 1024 * 1024))


def test_disk_goes_ok_warning_critical_as_it_fills(small_disk: Path) -> None:
    spec = {"type": "disk", "path": str(small_disk), "warning": "50%", "critical": "90%"}
    empty = run(spec)
    assert empty.status is Status.OK
    assert empty.value is not None and empty.value < 5
    fill(small_disk, 2.5)
    warn = run(spec)
    assert warn.status is Status.WARNING
    assert warn.value is not None and 55 < warn.value < 70
    assert "free of 4.0 MiB" in warn.message
    fill(small_disk, 1.3)
    crit = run(spec)
    assert crit.status is Status.CRITICAL
    assert crit.value is not None and crit.value >= 90


def test_disk_inodes_are_checked_too(small_disk: Path) -> None:
    for i in range(170):
        (small_disk / f"f{i}").touch()
    result = run({"type": "disk", "path": str(small_disk), "warning": "99%", "critical": "100%"})
    assert result.status is Status.WARNING  # 170+ of 200 inodes, default inode warning 80%
    assert "inodes" in result.message
    assert any(m.name == "inodes_used" and m.value > 80 for m in result.metrics)


def test_disk_percent_matches_df(tmp_path: Path) -> None:
    df = subprocess.run(["df", "--output=pcent", str(tmp_path)], capture_output=True, text=True,
                        check=True).stdout.splitlines()[1]  # fmt: skip
    result = run({"type": "disk", "path": str(tmp_path)})
    assert result.value is not None
    assert abs(result.value - float(df.strip().rstrip("%"))) <= 1


def test_disk_missing_path_is_unknown() -> None:
    result = run({"type": "disk", "path": "/no/such/mount"})
    assert result.status is Status.UNKNOWN
    assert "no such file or directory" in result.message


def _used_pct() -> float:
    info = read_meminfo()
    return (info["MemTotal"] - info["MemAvailable"]) * 100 / info["MemTotal"]


def test_memory_follows_available_memory_like_free() -> None:
    used = _used_pct()
    ok = run({"type": "memory", "warning": "99%", "critical": "100%"})
    assert ok.status is Status.OK
    assert ok.value == pytest.approx(used, abs=2)
    below = max(0.0, used - 5)
    warn = run({"type": "memory", "warning": f"{below:.1f}%", "critical": "100%"})
    assert warn.status is Status.WARNING
    crit = run({"type": "memory", "warning": f"{below:.1f}%", "critical": f"{below:.1f}%"})
    assert crit.status is Status.CRITICAL


def test_load_is_per_cpu() -> None:
    load5 = os.getloadavg()[1]
    cpus = len(os.sched_getaffinity(0))
    ok = run({"type": "load", "warning": 1000, "critical": 2000})
    assert ok.status is Status.OK
    assert ok.value == pytest.approx(load5 / cpus, abs=0.5)
    assert f"on {cpus} CPU" in ok.message


def test_load_thresholds_warn_and_go_critical() -> None:
    # At or above a threshold trips it, so 0 trips on any machine; the value is still real.
    warn = run({"type": "load", "period": "15m", "warning": 0, "critical": 1000})
    assert warn.status is Status.WARNING
    crit = run({"type": "load", "period": "15m", "warning": 0, "critical": 0})
    assert crit.status is Status.CRITICAL
    assert "(15m)" in crit.message
    assert crit.value == pytest.approx(os.getloadavg()[2] / len(os.sched_getaffinity(0)), abs=0.5)
