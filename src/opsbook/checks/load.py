"""load: the load average per CPU, so one threshold fits a 2-core VM and a 64-core host."""

from __future__ import annotations

import os

from opsbook.config.checks import LoadCheck
from opsbook.results import Metric, Phase, Reading, Unit, above, rising

_PERIODS = {"1m": 0, "5m": 1, "15m": 2}


def describe(check: LoadCheck) -> str:
    return "this host"


def cpu_count() -> int:
    """CPUs this process may run on (a container's cpuset, not the host's total)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


async def run(check: LoadCheck, phase: Phase) -> Reading:
    loads = os.getloadavg()
    cpus = cpu_count()
    per_cpu = round(loads[_PERIODS[check.period]] / cpus, 2)
    metrics = (
        *(
            Metric(f"load{period.removesuffix('m')}", round(value, 2), Unit.COUNT, min=0)
            for period, value in zip(_PERIODS, loads, strict=True)
        ),
        Metric("load_per_cpu", per_cpu, Unit.COUNT, above(check.warning), above(check.critical), 0),
    )
    message = (
        f"load {loads[0]:.2f} {loads[1]:.2f} {loads[2]:.2f} on {cpus} CPU"
        f"{'s' if cpus != 1 else ''}, {per_cpu:.2f} per CPU ({check.period})"
    )
    status = rising(per_cpu, check.warning, check.critical)
    return Reading(status, message, per_cpu, Unit.COUNT, metrics)
