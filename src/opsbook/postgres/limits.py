"""The thresholds the `opsbook db` reports judge by, as check_postgres lets a DBA set them:
on the command line (``--idle-in-transaction 5m,30m``) and in a `pgdiag` check
(``idle_in_transaction: {warning: 5m, critical: 30m}``). A value over a warning is WARNING,
over a critical CRITICAL (strictly over, as everywhere in opsbook); ``off`` judges nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from opsbook.config.checks import PG_LIMITS
from opsbook.results import Limit, parse_limit

__all__ = ["DEFAULT", "Limit", "Limits", "parse"]


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


def parse(name: str, text: str) -> Limit:
    return parse_limit(PG_LIMITS[name], text)
