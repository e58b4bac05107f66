"""How an error-log report (templates, baselines) reads on a terminal and in JSON; apart from
the access report's module, whose start-up need not load the template miner."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from opsbook.logs.templates import ErrorsReport, Novelty, Template
from opsbook.output.table import Cell, Column, render, styled
from opsbook.timefmt import human, iso

if TYPE_CHECKING:  # listing baselines must not pay for SQLAlchemy at start
    from opsbook.logs.baselines import Saved


def errors_table(r: ErrorsReport, tz: tzinfo, top: int) -> str:
    out = [f"{r.entries} entries, {len(r.templates)} templates"]
    if r.baseline:
        new = sum(1 for t in r.templates if t.novelty is Novelty.NEW)
        jumped = sum(1 for t in r.templates if t.novelty is Novelty.JUMPED)
        out[0] += f"; against baseline {r.baseline!r}: {new} new, {jumped} jumped"
    rows: list[list[Cell | str]] = []
    for t in r.templates[:top]:
        if t.novelty is Novelty.NEW:
            mark = Cell("NEW", "red")
        elif t.novelty is Novelty.JUMPED:
            mark = Cell(f"x{t.rate_ratio:.1f}", "yellow")
        else:
            mark = Cell("")
        levels = ",".join(f"{k}:{v}" for k, v in sorted(t.levels.items()))
        rows.append([mark, str(t.count), levels, human(t.last, tz), t.text])
    columns = [Column(""), Column("count", "right"), Column("levels"), Column("last")]
    out.append(render([*columns, Column("template", wrap=True)], rows))
    if len(r.templates) > top:
        out.append(styled(f"… {len(r.templates) - top} more (--top)", "dim"))
    return "\n".join(out)


def template_json(t: Template) -> dict[str, Any]:
    return {
        "id": t.id,
        "template": t.text,
        "count": t.count,
        "levels": t.levels,
        "first": iso(t.first),
        "last": iso(t.last),
        "novelty": t.novelty.value,
        "baseline_count": t.baseline_count,
        "rate_ratio": round(t.rate_ratio, 3) if t.rate_ratio is not None else None,
        "examples": list(t.examples),
    }


def errors_json(r: ErrorsReport, *, top: int, saved_as: str | None) -> dict[str, Any]:
    return {
        "files": list(r.files),
        "entries": r.entries,
        "baseline": r.baseline,
        "saved": saved_as,
        "new": sum(1 for t in r.templates if t.novelty is Novelty.NEW),
        "jumped": sum(1 for t in r.templates if t.novelty is Novelty.JUMPED),
        "templates": [template_json(t) for t in r.templates[:top]],
    }


def baseline_json(b: Saved) -> dict[str, Any]:
    return {
        "name": b.name,
        "saved_at": iso(b.saved_at),
        "saved_by": b.saved_by,
        "entries": b.entries,
        "templates": b.templates,
    }
