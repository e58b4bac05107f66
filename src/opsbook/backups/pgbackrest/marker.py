"""The known truth a restore is checked against: opsbook writes a row to a small table in
the cluster (``opsbook_marker``: when, and which databases existed) before every backup and
at intervals. A cluster restored to time T must hold exactly the rows written up to T, and
its databases must be the ones the newest of them lists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

TABLE = "opsbook_marker"
# the table's name is a constant of ours: no input reaches these statements' text
CREATE = """
CREATE TABLE IF NOT EXISTS opsbook_marker (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    why text NOT NULL,
    databases jsonb NOT NULL
)"""
INSERT = """
INSERT INTO opsbook_marker (why, databases)
SELECT %s, jsonb_agg(datname ORDER BY datname) FROM pg_database WHERE datallowconn
RETURNING id, at"""
UPTO = "SELECT id, at, databases FROM opsbook_marker WHERE at <= %s ORDER BY id"
EVERY = "SELECT id, at, databases FROM opsbook_marker ORDER BY id"


@dataclass(frozen=True)
class Mark:
    id: int
    at: datetime
    databases: tuple[str, ...]


def write(conn: Any, why: str) -> Mark:
    """A marker row, committed (``conn``: an autocommit connection with dict rows)."""
    conn.execute(CREATE)
    row = conn.execute(INSERT, (why,)).fetchone()
    found = conn.execute("SELECT databases FROM opsbook_marker WHERE id = %s", (row["id"],))
    return Mark(row["id"], row["at"], tuple(_names(found.fetchone()["databases"])))


def up_to(conn: Any, at: datetime | None) -> list[Mark]:
    """The rows written up to ``at`` (every row with None; none when there is no table)."""
    if conn.execute("SELECT to_regclass(%s) AS t", (TABLE,)).fetchone()["t"] is None:
        return []
    rows = conn.execute(UPTO, (at,)) if at is not None else conn.execute(EVERY)
    return [Mark(r["id"], r["at"], tuple(_names(r["databases"]))) for r in rows]


def _names(value: Any) -> list[str]:
    return list(json.loads(value) if isinstance(value, str) else value or [])
