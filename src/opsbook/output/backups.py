"""How backups, runs, verifications and prunes read on a terminal and in JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opsbook.output.table import Cell, Column, render, styled
from opsbook.timefmt import human, zone
from opsbook.units import format_bytes, format_duration

if TYPE_CHECKING:
    from opsbook.backups.catalog import Entry
    from opsbook.backups.jobs import BackupOutcome, PruneOutcome
    from opsbook.backups.records import Event


def run_json(outcome: BackupOutcome) -> dict[str, Any]:
    m = outcome.result.manifest
    data: dict[str, Any] = {
        "id": m.id,
        "source": m.source,
        "ok": outcome.ok,
        "repositories": list(outcome.result.published),
        "failed_repositories": outcome.result.failed,
        "raw_bytes": m.raw_bytes,
        "stored_bytes": m.stored_bytes,
        "seconds": round((m.finished_at - m.started_at).total_seconds(), 2),
        "tables": len(m.tables),
        "rows": sum(t.rows for t in m.tables),
        "checksum": m.checksum,
    }
    if outcome.verified is not None:
        data["verified"] = outcome.verified.to_json()
    return data


def run_error_json(source: str, error: Exception) -> dict[str, Any]:
    """A source whose run failed before anything was stored."""
    return {"source": source, "ok": False, "error": str(error)}


def show_json(entry: Entry, history: Sequence[Event]) -> dict[str, Any]:
    data = entry.manifest.to_json() | {"repositories": list(entry.repos)}
    data["events"] = [
        {"kind": e.kind.value, "ok": e.ok, "at": e.finished_at.isoformat(), "repo": e.repo,
         "detail": e.detail}
        for e in history
    ]  # fmt: skip
    return data


def run_summary(outcome: BackupOutcome) -> list[str]:
    m = outcome.result.manifest
    took = (m.finished_at - m.started_at).total_seconds()
    ratio = m.raw_bytes / m.stored_bytes if m.stored_bytes else 0
    lines = [
        f"{m.source}: {format_bytes(m.raw_bytes)} dumped, {format_bytes(m.stored_bytes)} stored "
        f"({ratio:.1f}x, {m.encryption.mode.value} encryption) in {took:.1f} s "
        f"to {', '.join(outcome.result.published)}"
    ]
    if m.tables:
        lines.append(f"  {len(m.tables)} tables, {sum(t.rows for t in m.tables)} rows counted "
                     "in the dump's snapshot")  # fmt: skip
    globals_ = m.details.get("globals")
    if globals_ and not str(globals_).startswith("included"):
        lines.append(f"  globals {globals_}")
    for repo, why in outcome.result.failed.items():
        lines.append(styled(f"  FAILED in {repo}: {why}", "red"))
    if outcome.result.cleaned:
        lines.append(f"  removed {len(outcome.result.cleaned)} unfinished run(s) left before")
    if outcome.verified is not None:
        v = outcome.verified
        mark = styled("verified", "green") if v.ok else styled("VERIFY FAILED", "red")
        lines.append(f"  {mark} in {v.seconds:.1f} s: {v.detail}")
    return lines


def _verified_cell(entry: Entry, verified: dict[str, Event]) -> Cell:
    event = verified.get(entry.id)
    if event is None:
        return Cell("never", "yellow")
    return Cell("yes", "green") if event.ok else Cell("FAILED", "red")


def list_table(entries: list[Entry], verified: dict[str, Event], tz_name: str | None) -> str:
    if not entries:
        return "no backups yet: opsbook backup run"
    now = datetime.now(UTC)
    rows: list[list[Cell | str]] = [
        [
            e.id,
            e.manifest.source,
            format_duration((now - e.manifest.started_at).total_seconds()) + " ago",
            Cell(format_bytes(e.manifest.stored_bytes)),
            _verified_cell(e, verified),
            ", ".join(e.repos),
        ]
        for e in entries
    ]
    columns = [Column("ID"), Column("SOURCE"), Column("AGE", "right"), Column("SIZE", "right"),
               Column("VERIFIED"), Column("REPOSITORIES", wrap=True)]  # fmt: skip
    del tz_name
    return render(columns, rows)


def list_json(entries: list[Entry], verified: dict[str, Event]) -> list[dict[str, Any]]:
    out = []
    for e in entries:
        event = verified.get(e.id)
        out.append({
            "id": e.id,
            "source": e.manifest.source,
            "kind": e.manifest.kind,
            "started_at": e.manifest.started_at.isoformat(),
            "finished_at": e.manifest.finished_at.isoformat(),
            "raw_bytes": e.manifest.raw_bytes,
            "stored_bytes": e.manifest.stored_bytes,
            "repositories": list(e.repos),
            "verified": None if event is None else event.ok,
            "verified_at": None if event is None else event.finished_at.isoformat(),
            "verify_detail": None if event is None else event.detail,
        })  # fmt: skip
    return out


def show_text(entry: Entry, history: list[Event], tz_name: str | None) -> str:
    m = entry.manifest
    tz = zone(tz_name)
    lines = [
        f"backup     {m.id}",
        f"source     {m.source} ({m.kind}) {m.target}",
        f"taken      {human(m.started_at, tz, seconds=True)} in "
        f"{(m.finished_at - m.started_at).total_seconds():.1f} s",
        f"size       {format_bytes(m.raw_bytes)} raw, {format_bytes(m.stored_bytes)} stored "
        f"({m.compression})",
        f"encryption {m.encryption.mode.value} {' '.join(m.encryption.fingerprints)}".rstrip(),
        f"stored in  {', '.join(entry.repos)}",
    ]
    if m.server_version:
        lines.append(f"server     {m.server_version}; {m.tool_version or ''}".rstrip("; "))
    for a in m.artifacts:
        lines.append(f"  {a.name:8} {a.file}  {a.format}  {format_bytes(a.stored_bytes)}  "
                     f"sha256 {a.sha256[:16]}…")  # fmt: skip
    if m.tables:
        lines.append("")
        rows = [
            [f"{t.schema}.{t.table}", str(t.rows),
             ", ".join(f"{k}={v}" for k, v in t.maxima.items() if v is not None)]
            for t in m.tables
        ]  # fmt: skip
        lines.append(render([Column("TABLE"), Column("ROWS", "right"),
                             Column("LATEST", wrap=True)], rows))  # fmt: skip
    if history:
        lines.append("")
        for e in history:
            mark = styled("ok", "green") if e.ok else styled("FAILED", "red")
            lines.append(f"{human(e.finished_at, tz)}  {e.kind.value:8} {mark}  {e.detail}")
    return "\n".join(lines)


def prune_json(outcome: PruneOutcome, dry_run: bool) -> dict[str, Any]:
    return {
        "dry_run": dry_run,
        "decisions": [
            {"id": d.entry.id, "source": d.entry.manifest.source, "keep": d.keep, "why": d.why}
            for d in outcome.decisions
        ],
        "deleted": outcome.deleted,
        "errors": outcome.errors,
    }


def prune_table(outcome: PruneOutcome, dry_run: bool, tz_name: str | None) -> str:
    if not outcome.decisions:
        return "no backups to consider"
    tz = zone(tz_name)
    rows: list[list[Cell | str]] = []
    for d in outcome.decisions:
        if d.keep:
            action = Cell("keep", "green")
        else:
            action = Cell("would delete" if dry_run else "deleted", "yellow")
        rows.append([d.entry.id, human(d.entry.manifest.started_at, tz), action, d.why])
    columns = [Column("ID"), Column("TAKEN"), Column("ACTION"), Column("WHY", wrap=True)]
    return render(columns, rows)
