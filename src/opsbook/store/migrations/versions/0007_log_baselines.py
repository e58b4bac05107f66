"""opsbook logs errors --baseline NAME --save: the error templates known at a point in time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_baselines",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("saved_at", UTCDateTime, nullable=False),
        sa.Column("saved_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("span_seconds", sa.Float, nullable=True),
        sa.Column("templates", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),  # Drain3's state (zlib + base64)
    )


def downgrade() -> None:
    op.drop_table("log_baselines")
