"""opsbook backup: a record of every backup, verification, restore and prune; leases that
keep prune away from a backup being read; and job locks for scheduled runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),  # backup, verify, restore, prune, copy
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("backup_id", sa.String(200), nullable=True),
        sa.Column("repo", sa.String(200), nullable=True),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("actor", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_backup_events_backup", "backup_events", ["backup_id", "kind"])
    op.create_index("ix_backup_events_source", "backup_events", ["source", "kind", "started_at"])
    op.create_table(
        "backup_leases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("backup_id", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),  # verify, restore, copy
        sa.Column("holder", sa.String(200), nullable=False),  # host:pid
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_backup_leases_backup", "backup_leases", ["backup_id"])
    op.create_table(
        "job_locks",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("job_locks")
    op.drop_table("backup_leases")
    op.drop_table("backup_events")
