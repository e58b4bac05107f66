"""INSERT … ON CONFLICT DO UPDATE for both backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table


def upsert(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> None:
    changes = {k: v for k, v in values.items() if k not in keys}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(table).values(**values)
        conn.execute(pg.on_conflict_do_update(index_elements=keys, set_=changes))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(table).values(**values)
        conn.execute(lite.on_conflict_do_update(index_elements=keys, set_=changes))
