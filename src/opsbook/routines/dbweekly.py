"""The runbook's weekly database maintenance: VACUUM ANALYZE and REINDEX CONCURRENTLY of the
invalid and truly bloated indexes, with `opsbook db`'s guards (short lock_timeout, one object
at a time, leftovers of a failed concurrent build dropped), recorded in the maintenance log;
then the unused-index, slow-query and bloat reports, compared with the same job's last run so
the digest says what changed this week, not the same list again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsbook.config.jobs import DbMaintenanceJob
from opsbook.config.model import Config
from opsbook.routines.model import ActionReport, Area, Finding, markdown
from opsbook.status import Status
from opsbook.units import format_bytes, format_duration

REINDEX_BLOATED_OVER = 0.30  # an index at least this much estimated waste is rebuilt
SLOWER = 1.5  # a top query this many times slower (mean) than last week is a WARNING
LOCK_TIMEOUT_S = 5.0
REINDEX_TIMEOUT_S = 2 * 3600.0
ACTOR = "opsbook jobs: db-maintenance"
Previous = Callable[[], dict[str, Any] | None]


def perform(job: DbMaintenanceJob, config: Config, previous: Previous) -> ActionReport:
    from opsbook.postgres.bloat import bloat
    from opsbook.postgres.connect import connect, target
    from opsbook.postgres.indexes import indexes
    from opsbook.postgres.maintenance import run
    from opsbook.postgres.plans import reindex_plan, vacuum_plan
    from opsbook.postgres.statements import slow_queries

    dsn = job.target if job.target and "://" in job.target else None
    where = target(config, None if dsn else job.target, dsn)
    outcomes = []
    notes: list[str] = []
    with connect(where) as conn, connect(where) as watch:
        if job.vacuum:
            steps = vacuum_plan(conn, [], analyze=True, full=False)
            outcomes += run(
                conn, steps, lock_timeout_s=LOCK_TIMEOUT_S, statement_timeout_s=0, watch=watch
            )
        if job.reindex:
            measured = conn.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple'"
            ).fetchone()
            if not measured:  # estimates are not enough to rebuild an index on
                notes.append(
                    "bloated indexes not measured, only invalid ones rebuilt: "
                    f"CREATE EXTENSION pgstattuple; in {conn.info.dbname}"
                )
            over = REINDEX_BLOATED_OVER if measured else None
            steps = reindex_plan(conn, invalid=True, bloated_over=over)
            outcomes += run(
                conn,
                steps,
                lock_timeout_s=LOCK_TIMEOUT_S,
                statement_timeout_s=REINDEX_TIMEOUT_S,
                watch=watch,
            )
        reports = [
            indexes(conn, where.label),
            slow_queries(conn, where.label),
            bloat(conn, where.label),
        ]
    _record(config.store, where.label, outcomes)
    now_figures = _figures(reports)
    findings = [
        Finding(Status.WARNING, Area.DATABASE, f"{o.step.kind} {o.step.object} failed", o.detail)
        for o in outcomes
        if not o.ok
    ]
    for report in reports:
        for status, text in report.findings:
            if status is Status.UNKNOWN:  # could not look (an extension missing): said, not failed
                notes.append(f"{report.name}: {text}")
            elif status is not Status.OK:
                findings.append(Finding(status, Area.DATABASE, f"{report.name}: {text}"))
    before = previous()
    changes = _changes(before, now_figures) if before else []
    findings += [Finding(Status.WARNING, Area.DATABASE, c) for c in changes if "slower" in c]
    done = [o for o in outcomes if o.ok]
    vacuumed = sum(1 for o in done if o.step.kind == "vacuum")
    reindexed = sum(1 for o in done if o.step.kind == "reindex")
    took = format_duration(sum(o.seconds for o in outcomes))
    summary = (
        f"vacuumed {vacuumed} table(s), reindexed {reindexed} index(es) in {took}; "
        f"{len(now_figures['unused'])} unused index(es); {len(changes)} change(s) "
        "since last week"
    )
    failed = len(outcomes) - len(done)
    if failed:
        summary += f"; {failed} step(s) FAILED"
    figures = {**now_figures, "vacuumed": vacuumed, "reindexed": reindexed, "failed": failed}
    draft = ActionReport("db-maintenance", summary, tuple(findings), figures, tuple(notes))
    sections = [
        (
            "Changes since last week",
            [f"- {c}" for c in changes] if before else ["- first run: nothing to compare with"],
        ),
        ("Maintenance", [_step_line(o) for o in outcomes]),
        (
            "Unused indexes",
            [
                f"- {n} ({format_bytes(b)})"
                for n, b in sorted(now_figures["unused"].items(), key=lambda x: -x[1])
            ],
        ),
        (
            "Slowest queries (mean)",
            [
                f"- {q['mean_ms']:.1f} ms × {q['calls']}: {q['query'][:120]}"
                for q in now_figures["slow"].values()
            ],
        ),
        ("Bloat", [f"- {n}: {p:.0%} estimated waste" for n, p in now_figures["bloat"].items()]),
    ]
    return ActionReport(
        "db-maintenance",
        summary,
        tuple(findings),
        figures,
        report=markdown("Weekly database maintenance", draft, sections),
    )


def _step_line(o: Any) -> str:
    why = f" ({o.step.why})" if o.step.why else ""
    said = "ok" if o.ok else "FAILED"
    return f"- {o.step.kind} {o.step.object}: {said} in {format_duration(o.seconds)}{why}"


def _record(store: str | None, target: str, outcomes: list[Any]) -> None:
    if not outcomes:
        return
    from opsbook.postgres import runs
    from opsbook.store.open import open_store

    opened = open_store(store)
    try:
        runs.record(opened.engine, target, outcomes, ACTOR)
    finally:
        opened.engine.dispose()


def _figures(reports: list[Any]) -> dict[str, Any]:
    """What next week compares with: unused indexes (size), the top queries (mean, calls),
    tables and indexes with estimated waste of 20 % or more."""
    unused_report, slow_report, bloat_report = reports
    unused = {
        f"{r['schema']}.{r['index']}": int(r["size_bytes"])
        for r in unused_report.sections.get("unused", [])
    }
    slow = {
        str(r["queryid"]): {
            "mean_ms": float(r["mean_ms"]),
            "calls": int(r["calls"]),
            "query": str(r["query"]),
        }
        for r in slow_report.sections.get("queries", [])
    }
    wasted = {}
    for kind in ("tables", "indexes"):
        for r in bloat_report.sections.get(kind, []):
            pct = r.get("estimated_bloat_pct")
            name = r["table"] if kind == "tables" else r["index"]
            if pct is not None and pct >= 20:  # _share gives percent
                wasted[f"{r['schema']}.{name}"] = round(float(pct) / 100, 3)
    return {"unused": unused, "slow": slow, "bloat": wasted}


def _changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    out = []
    was_unused, is_unused = before.get("unused", {}), now["unused"]
    out += [
        f"newly unused index {n} ({format_bytes(is_unused[n])})"
        for n in sorted(set(is_unused) - set(was_unused))
    ]
    out += [f"index {n} is used again (or gone)" for n in sorted(set(was_unused) - set(is_unused))]
    was_slow = before.get("slow", {})
    for queryid, q in now["slow"].items():
        old = was_slow.get(queryid)
        if old is None:
            out.append(f"new in the top queries: {q['query'][:100]} ({q['mean_ms']:.1f} ms mean)")
        elif old["mean_ms"] > 0 and q["mean_ms"] / old["mean_ms"] >= SLOWER:
            ratio = q["mean_ms"] / old["mean_ms"]
            out.append(
                f"{ratio:.1f}x slower than last week: {q['query'][:100]} "
                f"({old['mean_ms']:.1f} → {q['mean_ms']:.1f} ms mean)"
            )
    was_bloat = before.get("bloat", {})
    for name, share in now["bloat"].items():
        old = was_bloat.get(name)
        if old is None:
            out.append(f"{name} now {share:.0%} bloated")
        elif share - old >= 0.10:
            out.append(f"{name} bloat grew from {old:.0%} to {share:.0%}")
    return out
