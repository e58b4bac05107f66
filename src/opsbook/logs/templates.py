"""Error messages grouped into templates with Drain3, and compared with a saved baseline.

Variable parts are masked before mining (quoted values, UUIDs, IPs, hex IDs, numbers), so
``upstream timed out (110) while reading from 10.0.0.7:8000`` and the same with another
address are one template. A baseline is Drain3's own state saved in the store: mining a
new log on top of it assigns known messages to their old clusters, and anything that
makes a new cluster is a template never seen before.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsbook.logs.errorlog import Entry, Level

if TYPE_CHECKING:
    from drain3 import TemplateMiner

EXAMPLES = 3
_MASKS = (
    (r'"(?:[^"\\]|\\.)*"', "STR"),
    (r"'(?:[^'\\]|\\.)*'", "STR"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "UUID"),
    (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b", "IP"),
    (r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}\b", "IP"),
    (r"\b0x[0-9a-fA-F]+\b", "HEX"),
    (r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", "HEX"),
    (r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:ms|us|s|[KMG]i?B|B|%)?(?![\w.])", "NUM"),
)


class Novelty(enum.StrEnum):
    NEW = "new"  # never seen in the baseline
    JUMPED = "jumped"  # seen, but at a much higher rate now
    KNOWN = "known"
    UNCOMPARED = "uncompared"  # no baseline given


@dataclass(frozen=True, slots=True)
class Baseline:
    name: str
    saved_at: datetime
    entries: int
    span_seconds: float | None
    state: bytes  # Drain3's state, zlib + base64 as Drain3 writes it


@dataclass(frozen=True, slots=True)
class Template:
    id: int
    text: str
    count: int
    levels: dict[str, int]
    first: datetime | None
    last: datetime | None
    examples: tuple[str, ...]
    novelty: Novelty
    baseline_count: int = 0
    rate_ratio: float | None = None  # now vs baseline, per hour (or per entry without times)


@dataclass(frozen=True, slots=True)
class ErrorsReport:
    files: tuple[str, ...]
    entries: int
    span_seconds: float | None
    templates: tuple[Template, ...]
    baseline: str | None
    notes: tuple[str, ...] = ()

    @property
    def flagged(self) -> tuple[Template, ...]:
        return tuple(t for t in self.templates if t.novelty in (Novelty.NEW, Novelty.JUMPED))


@dataclass
class _Acc:
    count: int = 0
    levels: dict[str, int] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None
    examples: list[str] = field(default_factory=list)


def _in_memory(state: bytes | None) -> Any:
    """A Drain3 persistence handler that loads ``state`` and keeps what it is asked to save."""
    from drain3.persistence_handler import PersistenceHandler

    class InMemory(PersistenceHandler):  # type: ignore[misc]
        def __init__(self) -> None:
            self.state = state

        def save_state(self, state: bytes) -> None:
            self.state = state

        def load_state(self) -> bytes | None:
            return self.state

    return InMemory()


def miner_for(state: bytes | None) -> TemplateMiner:
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    # drain3 logs "Starting Drain3 template miner" (and its config) at INFO for every miner:
    # one per log_errors run, so the daemon's log would say it every minute.
    logging.getLogger("drain3").setLevel(logging.WARNING)
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, name) for p, name in _MASKS]
    config.drain_sim_th = 0.5
    config.drain_depth = 4
    miner = TemplateMiner(persistence_handler=_in_memory(state) if state else None, config=config)
    # Loaded; from here on no automatic snapshots (one per new cluster would be slow).
    miner.persistence_handler = None
    return miner


def dump_state(miner: TemplateMiner) -> bytes:
    keep = _in_memory(None)
    miner.persistence_handler = keep
    miner.save_state("baseline")
    miner.persistence_handler = None
    return bytes(keep.state)


def _span(first: datetime | None, last: datetime | None) -> float | None:
    if first is None or last is None or last <= first:
        return None
    return (last - first).total_seconds()


@dataclass(frozen=True, slots=True)
class Mined:
    report: ErrorsReport
    state: bytes  # the miner's state after this log, to save as a baseline


def mine(
    found: Iterable[Entry],
    *,
    files: tuple[str, ...],
    baseline: Baseline | None = None,
    min_level: Level | None = None,
    jump: float = 3.0,
    min_jump_count: int = 5,
    with_state: bool = False,
) -> Mined:
    miner = miner_for(baseline.state if baseline else None)
    known = {c.cluster_id: c.size for c in miner.drain.clusters} if baseline else {}
    acc: dict[int, _Acc] = {}
    total = 0
    first: datetime | None = None
    last: datetime | None = None
    for entry in found:
        if entry.milder_than(min_level):
            continue
        total += 1
        cluster_id = miner.add_log_message(entry.message)["cluster_id"]
        a = acc.setdefault(cluster_id, _Acc())
        a.count += 1
        level = entry.level.name.lower() if entry.level is not None else "-"
        a.levels[level] = a.levels.get(level, 0) + 1
        if entry.at is not None:
            a.first = entry.at if a.first is None else min(a.first, entry.at)
            a.last = entry.at if a.last is None else max(a.last, entry.at)
            first = entry.at if first is None else min(first, entry.at)
            last = entry.at if last is None else max(last, entry.at)
        if len(a.examples) < EXAMPLES:
            a.examples.append(entry.raw[:500])
    span = _span(first, last)
    templates = []
    for cluster in miner.drain.clusters:
        seen = acc.get(cluster.cluster_id)
        if seen is None:
            continue
        novelty, base_count, ratio = _compare(
            cluster.cluster_id, seen.count, total, span, known, baseline, jump, min_jump_count
        )
        templates.append(
            Template(cluster.cluster_id, cluster.get_template(), seen.count, seen.levels,
                     seen.first, seen.last, tuple(seen.examples), novelty, base_count, ratio)
        )  # fmt: skip
    order = {Novelty.NEW: 0, Novelty.JUMPED: 1, Novelty.KNOWN: 2, Novelty.UNCOMPARED: 2}
    templates.sort(key=lambda t: (order[t.novelty], -t.count, t.id))
    report = ErrorsReport(files, total, span, tuple(templates), baseline.name if baseline else None)
    return Mined(report, dump_state(miner) if with_state else b"")


def _compare(
    cluster_id: int,
    count: int,
    total: int,
    span: float | None,
    known: dict[int, int],
    baseline: Baseline | None,
    jump: float,
    min_jump_count: int,
) -> tuple[Novelty, int, float | None]:
    if baseline is None:
        return Novelty.UNCOMPARED, 0, None
    if cluster_id not in known:
        return Novelty.NEW, 0, None
    before = known[cluster_id]
    if span and baseline.span_seconds:  # per hour when both logs have times
        ratio = (count / span) / (before / baseline.span_seconds)
    else:  # else as a share of entries
        ratio = (count / total) / (before / baseline.entries) if baseline.entries else 1.0
    jumped = ratio >= jump and count >= min_jump_count
    return (Novelty.JUMPED if jumped else Novelty.KNOWN), before, ratio
