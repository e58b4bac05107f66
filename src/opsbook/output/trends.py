"""``opsbook trends show``: findings as JSON and as a table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsbook.output.table import Cell, Column, Style, render

if TYPE_CHECKING:
    from opsbook.alerts.trends import Finding

_STYLE: dict[str, Style] = {"degraded": "yellow", "steady": "green", "learning": "magenta"}


def trends_json(found: list[Finding]) -> dict[str, Any]:
    return {
        "findings": [
            {
                "rule": f.rule,
                "kind": f.kind,
                "check": f.check,
                "metric": f.metric,
                "verdict": f.verdict.value,
                "now": f.now,
                "then": f.then,
                "ratio": f.ratio,
                "band": [f.low, f.high] if f.low is not None else None,
                "samples": f.samples,
                "severity": f"SEV-{f.severity}",
                "summary": f.summary,
            }
            for f in found
        ],
        "degraded": sum(f.verdict.value == "degraded" for f in found),
    }


def trends_text(shown: list[Finding], judged: int) -> str:
    if not shown:
        return f"no degradation or spike ({judged} measurements judged; --all lists them)"
    columns = [Column("RULE"), Column("VERDICT"), Column("SEV"), Column("FINDING", wrap=True)]
    rows: list[list[Cell | str]] = [
        [f.rule, Cell(f.verdict.value, _STYLE[f.verdict.value]), f"SEV-{f.severity}", f.summary]
        for f in shown
    ]
    return render(columns, rows)
