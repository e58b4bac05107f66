"""diskio: per block device, what iostat -x shows: utilization (time busy), await (mean time
an I/O took, queue included), reads and writes per second, bytes per second, queue depth."""

from __future__ import annotations

from pathlib import Path

from opsbook.checks.counters import between
from opsbook.config.host_checks import DiskIoCheck
from opsbook.errors import CheckUnavailable
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.status import Status, worst

SECTOR = 512  # /proc/diskstats counts 512-byte sectors whatever the device's own size
VIRTUAL = ("loop", "ram", "zram", "sr", "fd")  # not disks a service's data lives on
Stats = dict[str, tuple[int, ...]]  # reads sectors_read ms_reading writes sectors_written ...


def describe(check: DiskIoCheck) -> str:
    return ", ".join(check.devices) if check.devices else "this host's disks"


def read_diskstats() -> Stats:
    out: Stats = {}
    for line in Path("/proc/diskstats").read_text().splitlines():
        f = line.split()
        if len(f) < 14:
            continue
        # reads, sectors read, ms reading, writes, sectors written, ms writing, ms busy, weighted
        out[f[2]] = tuple(int(f[i]) for i in (3, 5, 6, 7, 9, 10, 12, 13))
    return out


def whole_disks(names: list[str]) -> list[str]:
    """Disks, not their partitions (those are not in /sys/block) nor loop/ram devices."""
    block = Path("/sys/block")
    listed = {p.name for p in block.iterdir()} if block.is_dir() else set(names)
    return [n for n in names if n in listed and not n.startswith(VIRTUAL)]


def rates(before: tuple[int, ...], after: tuple[int, ...], seconds: float) -> dict[str, float]:
    reads, sectors_r, ms_r, writes, sectors_w, ms_w, busy, weighted = (
        b - a for a, b in zip(before, after, strict=True)
    )
    ios = reads + writes
    return {
        "util": min(100.0, 100 * busy / (seconds * 1000)),
        "await": (ms_r + ms_w) / ios / 1000 if ios else 0.0,  # seconds
        "reads": reads / seconds,
        "writes": writes / seconds,
        "read_bytes": sectors_r * SECTOR / seconds,
        "write_bytes": sectors_w * SECTOR / seconds,
        "queue": weighted / (seconds * 1000),
    }


async def run(check: DiskIoCheck, phase: Phase) -> Reading:
    phase.at("sampling /proc/diskstats")
    before, after, seconds = await between("diskio", phase.check, read_diskstats,
                                           float(check.sample))  # fmt: skip
    names = list(check.devices) or whole_disks(sorted(after))
    missing = [n for n in names if n not in after]
    if missing:
        raise CheckUnavailable(f"no block device {missing[0]!r} (see /proc/diskstats)")
    per = {n: rates(before[n], after[n], seconds) for n in names if n in before}
    if not per:
        raise CheckUnavailable("no disk to measure in /proc/diskstats")
    statuses, metrics, parts = [], [], []
    for name, r in per.items():
        statuses.append(rising(r["util"], check.warning, check.critical))
        statuses.append(rising(r["await"], check.await_warning, check.await_critical))
        metrics += [
            Metric(f"{name}_util", round(r["util"], 2), Unit.PERCENT, above(check.warning),
                   above(check.critical), 0, 100),
            Metric(f"{name}_await", round(r["await"], 6), Unit.SECONDS,
                   above(check.await_warning), above(check.await_critical), 0),
            Metric(f"{name}_reads", round(r["reads"], 2), Unit.COUNT, min=0),
            Metric(f"{name}_writes", round(r["writes"], 2), Unit.COUNT, min=0),
            Metric(f"{name}_read_bytes", round(r["read_bytes"]), Unit.BYTES, min=0),
            Metric(f"{name}_write_bytes", round(r["write_bytes"]), Unit.BYTES, min=0),
            Metric(f"{name}_queue", round(r["queue"], 3), Unit.COUNT, min=0),
        ]  # fmt: skip
        parts.append(
            f"{name} {r['util']:.0f}% busy, await {r['await'] * 1000:.1f} ms, "
            f"{r['reads']:.0f} r/s {r['writes']:.0f} w/s"
        )
    top = max(per.values(), key=lambda r: r["util"])
    message = "; ".join(parts) + f" over {seconds:.1f} s"
    status = worst(statuses) if statuses else Status.OK
    return Reading(status, message, round(top["util"], 2), Unit.PERCENT, tuple(metrics))
