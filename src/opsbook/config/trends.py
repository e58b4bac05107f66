"""``trends:``: the runbook's informational tier over the stored history.

``degradation`` rules compare a measurement's mean over the last window (a week) with the
window before it ("performance degradation trends"); ``spikes`` rules judge its recent mean
against the band it has kept over a longer span ("resource usage spikes"). Both open SEV-4
alerts by default: recorded and listed, never paged.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

from opsbook.config.types import Duration, severity_level


class Direction(enum.StrEnum):
    UP = "up"  # higher is worse (latency, error share, CPU)
    DOWN = "down"  # lower is worse (throughput, signups)
    BOTH = "both"  # spikes only: either way is unusual


class _Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    check: str
    metric: str = "value"  # a measurement's name, or a glob over them: "route_*_p95"
    severity: str = "SEV-4"
    min_samples: Annotated[int, msgspec.Meta(ge=1)] = 12

    @property
    def level(self) -> int:
        return severity_level(self.severity)

    def _base(self) -> None:
        try:
            self.level  # noqa: B018 - validated here, used later
        except ValueError:
            raise ValueError(f"severity: expected SEV-1 … SEV-4, got {self.severity!r}") from None


class Degradation(_Rule, frozen=True, kw_only=True):
    window: Duration = Duration(7 * 86400)  # this week against the one before
    factor: Annotated[float, msgspec.Meta(gt=1)] = 1.5  # degraded at this ratio or worse
    direction: Direction = Direction.UP
    min_change: Annotated[float, msgspec.Meta(ge=0)] = 0.0  # and by at least this much

    def __post_init__(self) -> None:
        self._base()
        if self.window < 3600:
            raise ValueError("window: expected 1h or more")
        if self.direction is Direction.BOTH:
            raise ValueError("direction: expected up or down")


class Spike(_Rule, frozen=True, kw_only=True):
    window: Duration = Duration(900)  # the recent mean judged
    learn: Duration = Duration(7 * 86400)  # the span its band is learnt from
    k: Annotated[float, msgspec.Meta(gt=0)] = 4.0  # band = median ± k·MAD of 5-minute means
    direction: Direction = Direction.UP

    def __post_init__(self) -> None:
        self._base()
        if self.window < 60:
            raise ValueError("window: expected 1m or more")
        if self.learn < 4 * self.window:
            raise ValueError("learn: expected at least four windows")


class TrendsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    every: Duration = Duration(300.0)  # how often opsbook serve evaluates the rules
    degradation: dict[str, Degradation] = {}
    spikes: dict[str, Spike] = {}

    def __post_init__(self) -> None:
        if self.every < 60:
            raise ValueError("every: expected 1m or more")
        both = set(self.degradation) & set(self.spikes)
        if both:
            raise ValueError(f"rule {sorted(both)[0]!r} is both a degradation and a spike rule")
