"""disk: space and inodes used on the filesystem holding ``path``, as df counts them."""

from __future__ import annotations

import math
import os

from opsbook.aio import in_thread
from opsbook.config.checks import DiskCheck
from opsbook.errors import CheckUnavailable
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.status import worst
from opsbook.units import format_bytes


def describe(check: DiskCheck) -> str:
    return check.path


async def run(check: DiskCheck, phase: Phase) -> Reading:
    phase.at(f"for statvfs({check.path}) (a hung network mount?)")
    try:
        st = await in_thread(os.statvfs, check.path)
    except FileNotFoundError:
        raise CheckUnavailable(f"{check.path}: no such file or directory") from None
    except OSError as exc:
        raise CheckUnavailable(f"{check.path}: {exc.strerror or exc}") from None

    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    available = st.f_bavail * st.f_frsize
    # df's Use%: used / (used + available to unprivileged users), rounded up.
    used_pct = math.ceil(used * 1000 / (used + available)) / 10 if used + available else 0.0
    space = rising(used_pct, check.warning, check.critical)
    metrics = [
        Metric("used", used_pct, Unit.PERCENT, above(check.warning), above(check.critical), 0, 100),
        Metric("free", float(available), Unit.BYTES, min=0, max=float(used + available)),
    ]
    size = st.f_blocks * st.f_frsize
    message = f"{used_pct:.1f}% used, {format_bytes(available)} free of {format_bytes(size)}"
    statuses = [space]
    if st.f_files > 0:  # some filesystems (btrfs, some FUSE) have no fixed inode table
        inodes_pct = round((st.f_files - st.f_ffree) * 100 / st.f_files, 4)
        inodes = rising(inodes_pct, check.inodes_warning, check.inodes_critical)
        statuses.append(inodes)
        metrics.append(
            Metric(
                "inodes_used",
                inodes_pct,
                Unit.PERCENT,
                above(check.inodes_warning),
                above(check.inodes_critical),
                0,
                100,
            )
        )
        message += f", inodes {inodes_pct:.1f}% used"
    return Reading(worst(statuses), message, used_pct, Unit.PERCENT, tuple(metrics))
