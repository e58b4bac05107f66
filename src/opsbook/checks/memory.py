"""memory: used = total - available, as free(1) and the runbook's script count it."""

from __future__ import annotations

from pathlib import Path

from opsbook.config.checks import MemoryCheck
from opsbook.errors import CheckUnavailable
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.units import format_bytes

MEMINFO = Path("/proc/meminfo")


def describe(check: MemoryCheck) -> str:
    return "this host"


def read_meminfo(path: Path = MEMINFO) -> dict[str, int]:
    """/proc/meminfo in bytes."""
    values: dict[str, int] = {}
    for line in path.read_text().splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


async def run(check: MemoryCheck, phase: Phase) -> Reading:
    try:
        info = read_meminfo()
        total = info["MemTotal"]
        available = info["MemAvailable"]
    except (OSError, KeyError) as exc:
        raise CheckUnavailable(f"cannot read {MEMINFO}: {exc}") from None
    used = total - available
    used_pct = round(used * 100 / total, 4)  # not 1: a small ratio must not read as 0
    metrics = [
        Metric("used", used_pct, Unit.PERCENT, above(check.warning), above(check.critical), 0, 100),
        Metric("available", float(available), Unit.BYTES, min=0, max=float(total)),
    ]
    message = f"{used_pct:.1f}% used, {format_bytes(available)} available of {format_bytes(total)}"
    swap_total = info.get("SwapTotal", 0)
    if swap_total:
        swap_used = swap_total - info.get("SwapFree", 0)
        metrics.append(Metric("swap_used", float(swap_used), Unit.BYTES, min=0, max=swap_total))
        message += f", swap {format_bytes(swap_used)} used"
    status = rising(used_pct, check.warning, check.critical)
    return Reading(status, message, used_pct, Unit.PERCENT, tuple(metrics))
