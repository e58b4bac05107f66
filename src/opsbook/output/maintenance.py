"""`opsbook db vacuum|reindex` outcomes and the maintenance log, as JSON and as lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from opsbook.timefmt import human, iso

if TYPE_CHECKING:
    from opsbook.postgres.maintenance import Outcome
    from opsbook.postgres.runs import Run


def outcome_json(o: Outcome) -> dict[str, Any]:
    return {
        "kind": o.step.kind,
        "object": o.step.object,
        "statement": o.statement,
        "ok": o.ok,
        "seconds": round(o.seconds, 2),
        "detail": o.detail,
        "started_at": iso(o.started_at),
    }


def outcome_lines(outcomes: Sequence[Outcome]) -> list[str]:
    lines = [
        f"{'ok' if o.ok else 'FAILED':6} {round(o.seconds, 2):8.1f} s  {o.statement}"
        + ("" if o.ok else f"  ({o.detail})")
        for o in outcomes
    ]
    failed = sum(1 for o in outcomes if not o.ok)
    lines.append(
        f"{len(outcomes) - failed} of {len(outcomes)} done"
        + (f", {failed} failed" if failed else "")
    )
    return lines


def run_json(r: Run) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "target": r.target,
        "object": r.object,
        "statement": r.statement,
        "actor": r.actor,
        "started_at": iso(r.started_at),
        "seconds": round(r.seconds, 2),
        "ok": r.ok,
        "detail": r.detail,
    }


def run_line(r: Run, tz: tzinfo) -> str:
    mark = "ok" if r.ok else "FAILED"
    return f"{human(r.started_at, tz)}  {r.actor:12} {mark:6} {r.seconds:8.1f} s  {r.statement}" + (
        "" if r.ok else f"  ({r.detail})"
    )
