"""What a follower passes to the leader through the store: alerts posted to its intake (stored
at once, so the sender gets its 200) and the results of the checks it runs on its own host.
The leader processes both within a second. Re-processing an alert after a leader died mid-way
changes nothing: an alert firing since the same time is the same episode
(alerts/intake.apply_external)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, insert, select

from opsbook.alerts.intake import ExternalAlert
from opsbook.alerts.model import Source
from opsbook.results import CheckKind, Metric, Result, Unit
from opsbook.status import Status
from opsbook.store.tables import intake_queue, relayed_results
from opsbook.store.tx import begin, read

BATCH = 500


def relay(engine: Engine, alerts: Sequence[ExternalAlert], by: str, now: datetime) -> int:
    return _put(engine, intake_queue, [{"received_at": now, "received_by": by,
                                        "alert": _encode(a)} for a in alerts])  # fmt: skip


def waiting(engine: Engine) -> list[tuple[int, ExternalAlert]]:
    return [(i, _decode(data)) for i, data in _oldest(engine, intake_queue, "alert")]


def done(engine: Engine, ids: Sequence[int]) -> None:
    _drop(engine, intake_queue, ids)


def _put(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> int:
    if rows:
        with begin(engine) as conn:
            conn.execute(insert(table), rows)
    return len(rows)


def _oldest(engine: Engine, table: Table, column: str) -> list[tuple[int, Any]]:
    with read(engine) as conn:
        rows = conn.execute(
            select(table.c.id, table.c[column]).order_by(table.c.id).limit(BATCH)
        ).all()
    return [(int(r[0]), r[1]) for r in rows]


def _drop(engine: Engine, table: Table, ids: Sequence[int]) -> None:
    with begin(engine) as conn:
        conn.execute(delete(table).where(table.c.id.in_(list(ids))))


def _encode(alert: ExternalAlert) -> dict[str, Any]:
    out = asdict(alert)
    out["source"] = alert.source.value
    out["at"] = alert.at.isoformat()
    out["reported_at"] = alert.reported_at.isoformat() if alert.reported_at else None
    return out


def _decode(data: dict[str, Any]) -> ExternalAlert:
    reported = data.get("reported_at")
    return ExternalAlert(
        fingerprint=data["fingerprint"],
        source=Source(data["source"]),
        name=data["name"],
        labels=dict(data["labels"]),
        action=data["action"],
        severity_word=data["severity_word"],
        summary=data["summary"],
        at=datetime.fromisoformat(data["at"]),
        reported_at=datetime.fromisoformat(reported) if reported else None,
    )


# ---------------------------------------------------------------- results


def relay_results(engine: Engine, results: Sequence[Result], by: str, now: datetime) -> int:
    return _put(engine, relayed_results, [{"received_at": now, "instance": by,
                                           "result": _result(r)} for r in results])  # fmt: skip


def waiting_results(engine: Engine) -> list[tuple[int, Result]]:
    return [(i, _from_result(data)) for i, data in _oldest(engine, relayed_results, "result")]


def results_done(engine: Engine, ids: Sequence[int]) -> None:
    _drop(engine, relayed_results, ids)


def _result(r: Result) -> dict[str, Any]:
    return {
        "name": r.name, "kind": r.kind.value, "target": r.target, "status": int(r.status),
        "message": r.message, "value": r.value, "unit": r.unit.value, "duration": r.duration,
        "started_at": r.started_at.isoformat(),
        "metrics": [[m.name, m.value, m.unit.value] for m in r.metrics],
        "details": json.loads(json.dumps(r.details, default=str)),
    }  # fmt: skip


def _from_result(d: dict[str, Any]) -> Result:
    return Result(
        name=d["name"], kind=CheckKind(d["kind"]), target=d["target"], status=Status(d["status"]),
        message=d["message"], value=d["value"], unit=Unit(d["unit"]), duration=d["duration"],
        started_at=datetime.fromisoformat(d["started_at"]),
        metrics=tuple(Metric(n, v, Unit(u)) for n, v, u in d["metrics"]),
        details=dict(d["details"]),
    )  # fmt: skip
