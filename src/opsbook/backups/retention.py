"""Which backups to keep, and why: a pure function of the backups, the rules and the time.

Defaults are the runbook's: every backup for 7 days, the newest of each day for 30 days;
weekly and monthly tiers are optional. Whatever the rules say, the newest backup and the
newest verified backup of a source are kept, and so is a backup that a verify or restore is
reading right now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from opsbook.backups.catalog import Entry
from opsbook.config.backups import Keep


@dataclass(frozen=True)
class Decision:
    entry: Entry
    keep: bool
    why: str


def decide(
    entries: Sequence[Entry],
    rules: Keep,
    now: datetime,
    *,
    verified: Iterable[str] = (),
    in_use: Iterable[str] = (),
    tz: tzinfo,
) -> list[Decision]:
    """``entries``: one source's backups. Days, weeks and months are those of ``tz``."""
    verified_ids = set(verified)
    busy = set(in_use)
    newest_first = sorted(entries, key=lambda e: e.manifest.started_at, reverse=True)
    reasons: dict[str, list[str]] = {e.id: [] for e in newest_first}
    if newest_first:
        reasons[newest_first[0].id].append("newest")
    newest_verified = next((e for e in newest_first if e.id in verified_ids), None)
    if newest_verified is not None:
        reasons[newest_verified.id].append("newest verified")
    tiers: list[tuple[str, float | None, str]] = [
        ("daily", rules.daily, "%Y-%m-%d"),
        ("weekly", rules.weekly, "%G-W%V"),
        ("monthly", rules.monthly, "%Y-%m"),
    ]
    for entry in newest_first:
        age = now - entry.manifest.started_at
        if age < timedelta(seconds=rules.all):  # 0s turns the rule off
            reasons[entry.id].append(f"younger than {_days(rules.all)}")
        if entry.id in busy:
            reasons[entry.id].append("being verified or restored")
    for label, span, fmt in tiers:
        if not span:
            continue
        seen: set[str] = set()
        for entry in newest_first:  # the newest of each period wins it
            local = entry.manifest.started_at.astimezone(tz)
            if now - entry.manifest.started_at >= timedelta(seconds=span):
                continue
            period = local.strftime(fmt)
            if period not in seen:
                seen.add(period)
                reasons[entry.id].append(f"{label} for {period}")
    return [
        Decision(e, bool(reasons[e.id]), ", ".join(reasons[e.id]) or "outside every rule")
        for e in newest_first
    ]


def _days(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:g}d" if days >= 1 else f"{seconds / 3600:g}h"
