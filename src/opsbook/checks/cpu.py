"""cpu: utilization as node_exporter's node_cpu_seconds_total would give it: busy (all but
idle and iowait), user, system, iowait and steal, over all CPUs and per CPU."""

from __future__ import annotations

from pathlib import Path

from opsbook.checks.counters import between
from opsbook.config.host_checks import CpuCheck
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.status import Status, worst

# "cpu", "cpu0"… -> user nice system idle iowait irq softirq steal
Times = dict[str, tuple[int, ...]]


def describe(check: CpuCheck) -> str:
    return "this host"


def read_stat() -> Times:
    out: Times = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu"):
            name, *fields = line.split()
            out[name] = tuple(int(f) for f in fields[:8])
    return out


def shares(before: tuple[int, ...], after: tuple[int, ...]) -> dict[str, float]:
    """Percentages of the time elapsed on one CPU (or all): busy, user, system, iowait, steal."""
    d = [b - a for a, b in zip(before, after, strict=True)] + [0] * (8 - len(before))
    user, nice, system, idle, iowait, irq, softirq, steal = d[:8]
    total = sum(d[:8]) or 1
    return {
        "busy": 100 * (total - idle - iowait) / total,
        "user": 100 * (user + nice) / total,
        "system": 100 * (system + irq + softirq) / total,
        "iowait": 100 * iowait / total,
        "steal": 100 * steal / total,
    }


async def run(check: CpuCheck, phase: Phase) -> Reading:
    phase.at("sampling /proc/stat")
    before, after, seconds = await between("cpu", phase.check, read_stat, float(check.sample))
    overall = shares(before["cpu"], after["cpu"])
    cores = {name: shares(before[name], after[name])["busy"]
             for name in after if name != "cpu" and name in before}  # fmt: skip
    statuses = [
        rising(overall["busy"], check.warning, check.critical),
        rising(overall["iowait"], check.iowait_warning, None),
        rising(overall["steal"], check.steal_warning, None),
    ]
    metrics = [
        Metric("busy", round(overall["busy"], 2), Unit.PERCENT, above(check.warning),
               above(check.critical), 0, 100),
        Metric("user", round(overall["user"], 2), Unit.PERCENT, min=0, max=100),
        Metric("system", round(overall["system"], 2), Unit.PERCENT, min=0, max=100),
        Metric("iowait", round(overall["iowait"], 2), Unit.PERCENT, above(check.iowait_warning),
               None, 0, 100),
        Metric("steal", round(overall["steal"], 2), Unit.PERCENT, above(check.steal_warning),
               None, 0, 100),
        *(Metric(f"{name}_busy", round(v, 2), Unit.PERCENT, min=0, max=100)
          for name, v in sorted(cores.items(), key=lambda kv: int(kv[0][3:]))),
    ]  # fmt: skip
    busiest = max(cores.items(), key=lambda kv: kv[1]) if cores else None
    message = (
        f"busy {overall['busy']:.1f}% (user {overall['user']:.1f}, system "
        f"{overall['system']:.1f}, iowait {overall['iowait']:.1f}, steal {overall['steal']:.1f}) "
        f"on {len(cores) or 1} CPU{'s' if len(cores) != 1 else ''} over {seconds:.1f} s"
    )
    if busiest is not None and len(cores) > 1:
        message += f"; busiest {busiest[0]} {busiest[1]:.0f}%"
    status = worst(statuses) if statuses else Status.OK
    return Reading(status, message, round(overall["busy"], 2), Unit.PERCENT, tuple(metrics))
