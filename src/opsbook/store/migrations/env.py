"""Alembic environment: opsbook always hands over an open connection in a transaction
(see opsbook.store.migrate), so the whole upgrade commits or rolls back as one."""

from __future__ import annotations

from alembic import context

from opsbook.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only opsbook.store.migrate runs migrations
    raise RuntimeError("run migrations with `opsbook store upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    transaction_per_migration=False,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
