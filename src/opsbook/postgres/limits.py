"""The thresholds the `opsbook db` reports judge by, as check_postgres lets a DBA set them:
on the command line (``--idle-in-transaction 5m,30m``) and in a `pgdiag` check
(``idle_in_transaction: {warning: 5m, critical: 30m}``). A value over a warning is WARNING,
over a critical CRITICAL (strictly over, as everywhere in opsbook); ``off`` judges nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from opsbook.results import rising
from opsbook.status import Status
from opsbook.units import format_bytes, format_duration, parse_duration, parse_percent, parse_size


@dataclass(frozen=True)
class Limit:
    warning: float | None = None
    critical: float | None = None

    def status(self, value: float) -> Status:
        return rising(value, self.warning, self.critical)

    @property
    def off(self) -> bool:
        return self.warning is None and self.critical is None

    @property
    def least(self) -> float | None:
        """The lowest threshold set: what is worth listing at all."""
        set_ = [v for v in (self.warning, self.critical) if v is not None]
        return min(set_) if set_ else None


@dataclass(frozen=True)
class Limits:
    """Defaults: what a DBA would page or look at; each is overridable."""

    idle_in_transaction: Limit = Limit(300, 1800)  # a session idle with a transaction open
    transaction_age: Limit = Limit(3600, 6 * 3600)  # a session holding the xmin horizon
    query_time: Limit = Limit(60, 600)  # a query active this long
    vacuum_age: Limit = Limit()  # since a table with dead tuples was last vacuumed (off)
    analyze_age: Limit = Limit()  # since a modified table was last analyzed (off)
    bloat_share: Limit = Limit(50)  # % of a table or index that is wasted space
    bloat_wasted: Limit = Limit(100 * 1024 * 1024)  # … and only when it wastes this many bytes

    def with_(self, **changes: Limit | None) -> Limits:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


DEFAULT = Limits()
PERCENT_LIMITS = ("bloat_share",)
SIZE_LIMITS = ("bloat_wasted",)
NAMES = tuple(f.name for f in fields(Limits))


def parse_limit(name: str, text: str) -> Limit:
    """``5m`` (a warning), ``5m,30m`` (warning, critical), ``,30m`` or ``off``."""
    if text.strip().lower() == "off":
        return Limit()
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > 2:
        raise ValueError(f"expected WARNING[,CRITICAL] such as {_example(name)}, got {text!r}")
    values = [_value(name, p) if p else None for p in parts] + [None]
    limit = Limit(values[0], values[1])
    if limit.off:
        raise ValueError(f"expected WARNING[,CRITICAL] such as {_example(name)}, or off")
    if limit.warning is not None and limit.critical is not None and limit.warning > limit.critical:
        raise ValueError(f"the warning ({parts[0]}) must not be over the critical ({parts[1]})")
    return limit


def limit_from_config(name: str, value: Any) -> Limit:
    """A check's ``idle_in_transaction: 5m`` or ``{warning: 5m, critical: 30m}``."""
    if isinstance(value, dict):
        unknown = set(value) - {"warning", "critical"}
        if unknown:
            raise ValueError(f"{name}: expected warning: and critical:, got {sorted(unknown)}")
        text = f"{value.get('warning', '') or ''},{value.get('critical', '') or ''}"
        return parse_limit(name, text)
    return parse_limit(name, str(value))


def _value(name: str, text: str) -> float:
    if name in PERCENT_LIMITS:
        return parse_percent(text if text.endswith("%") else text + "%")
    if name in SIZE_LIMITS:
        return float(parse_size(text))
    return parse_duration(text)


def _example(name: str) -> str:
    return "50%,80%" if name in PERCENT_LIMITS else "100MB,1GB" if name in SIZE_LIMITS else "5m,30m"


def shown(name: str, value: float) -> str:
    if name in PERCENT_LIMITS:
        return f"{value:g}%"
    if name in SIZE_LIMITS:
        return format_bytes(value)
    return format_duration(value)
