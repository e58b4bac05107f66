"""network: per interface, bytes and packets per second each way, errors and drops."""

from __future__ import annotations

from pathlib import Path

from opsbook.checks.counters import between
from opsbook.config.host_checks import NetworkCheck
from opsbook.errors import CheckUnavailable
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.status import Status, worst
from opsbook.units import format_bytes

# interface -> rx bytes, packets, errs, drop, tx bytes, packets, errs, drop
Counters = dict[str, tuple[int, ...]]


def describe(check: NetworkCheck) -> str:
    return ", ".join(check.interfaces) if check.interfaces else "this host's interfaces"


def read_netdev() -> Counters:
    out: Counters = {}
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        name, _, rest = line.partition(":")
        f = rest.split()
        if len(f) >= 12:
            out[name.strip()] = tuple(int(f[i]) for i in (0, 1, 2, 3, 8, 9, 10, 11))
    return out


async def run(check: NetworkCheck, phase: Phase) -> Reading:
    phase.at("sampling /proc/net/dev")
    before, after, seconds = await between("network", phase.check, read_netdev,
                                           float(check.sample))  # fmt: skip
    names = list(check.interfaces) or [n for n in sorted(after) if n != "lo"]
    missing = [n for n in names if n not in after]
    if missing:
        raise CheckUnavailable(f"no interface {missing[0]!r} (see /proc/net/dev)")
    statuses, metrics, parts = [], [], []
    worst_errors = 0.0
    for name in names:
        if name not in before:
            continue
        d = [(b - a) / seconds for a, b in zip(before[name], after[name], strict=True)]
        rx, rx_p, rx_e, rx_d, tx, tx_p, tx_e, tx_d = d
        errors = rx_e + rx_d + tx_e + tx_d
        worst_errors = max(worst_errors, errors)
        statuses.append(rising(errors, check.errors_warning, check.errors_critical))
        metrics += [
            Metric(f"{name}_rx_bytes", round(rx), Unit.BYTES, min=0),
            Metric(f"{name}_tx_bytes", round(tx), Unit.BYTES, min=0),
            Metric(f"{name}_rx_packets", round(rx_p, 2), Unit.COUNT, min=0),
            Metric(f"{name}_tx_packets", round(tx_p, 2), Unit.COUNT, min=0),
            Metric(f"{name}_errors", round(errors, 3), Unit.COUNT, above(check.errors_warning),
                   above(check.errors_critical), 0),
        ]  # fmt: skip
        parts.append(f"{name} in {format_bytes(rx)}/s out {format_bytes(tx)}/s"
                     + (f", {errors:.1f} errors+drops/s" if errors else ""))  # fmt: skip
    if not parts:
        raise CheckUnavailable("no interface to measure in /proc/net/dev")
    message = "; ".join(parts) + f" over {seconds:.1f} s"
    status = worst(statuses) if statuses else Status.OK
    return Reading(status, message, round(worst_errors, 3), Unit.COUNT, tuple(metrics))
