"""The ``cpu``, ``diskio`` and ``network`` check kinds: the runbook's infrastructure metrics
(what node_exporter gives a dashboard), read from /proc over an interval.

In ``opsbook serve`` a reading is the change since the check's previous run; a one-shot
``opsbook check`` samples over ``sample`` (1 s) instead.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from opsbook.config.checks import CheckBase
from opsbook.config.types import Duration, Percent
from opsbook.results import CheckKind


class _Sampled(CheckBase, frozen=True, kw_only=True):
    sample: Duration = Duration(1.0)  # a one-shot check's measuring window

    def _sampled(self) -> None:
        self._base_checks()
        if not 0.1 <= self.sample <= 60:
            raise ValueError("sample: expected between 100ms and 60s")
        if self.sample >= self.timeout:
            raise ValueError("sample: expected shorter than timeout")


class CpuCheck(_Sampled, frozen=True, kw_only=True, tag="cpu"):
    """CPU utilization (100 % minus idle and iowait), with user/system/iowait/steal."""

    kind = CheckKind.CPU
    warning: Percent = Percent(85)  # busy, of all CPUs
    critical: Percent = Percent(95)
    iowait_warning: Percent | None = Percent(20)  # waiting on disk, of all CPUs
    steal_warning: Percent | None = Percent(10)  # taken by the hypervisor for other guests
    for_: Duration | None = msgspec.field(default=Duration(300.0), name="for")  # not a blip

    def __post_init__(self) -> None:
        self._sampled()
        self._rising(self.warning, self.critical, "cpu")


class DiskIoCheck(_Sampled, frozen=True, kw_only=True, tag="diskio"):
    """Per block device: utilization, await, throughput and operations per second."""

    kind = CheckKind.DISKIO
    devices: tuple[str, ...] = ()  # none: every whole disk (not partitions, loop or ram)
    warning: Percent = Percent(80)  # time the device was busy
    critical: Percent = Percent(95)
    await_warning: Duration | None = Duration(0.1)  # mean time an I/O took, queue included
    await_critical: Duration | None = None
    for_: Duration | None = msgspec.field(default=Duration(300.0), name="for")

    def __post_init__(self) -> None:
        self._sampled()
        self._rising(self.warning, self.critical, "utilization")
        self._rising(self.await_warning, self.await_critical, "await")


class NetworkCheck(_Sampled, frozen=True, kw_only=True, tag="network"):
    """Per interface: bytes and packets per second, errors and drops."""

    kind = CheckKind.NETWORK
    interfaces: tuple[str, ...] = ()  # none: every interface but lo
    errors_warning: Annotated[float, msgspec.Meta(ge=0)] | None = 1.0  # errors+drops per second
    errors_critical: Annotated[float, msgspec.Meta(ge=0)] | None = None
    for_: Duration | None = msgspec.field(default=Duration(300.0), name="for")

    def __post_init__(self) -> None:
        self._sampled()
        self._rising(self.errors_warning, self.errors_critical, "errors")
