"""The migrations build exactly the schema the code's tables describe (both backends)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from opsbook.store.tables import metadata


def test_the_migrated_store_has_the_tables_the_code_declares(engine: Engine) -> None:
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    meaningful = [d for d in diffs if not (isinstance(d, tuple) and d[0] == "remove_table"
                                           and d[1].name == "alembic_version")]  # fmt: skip
    assert meaningful == []
