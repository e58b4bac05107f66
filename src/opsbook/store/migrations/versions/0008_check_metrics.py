"""Every measurement of a check result (not only its main value), and their rollups.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "check_metrics",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("check_name", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index("ix_check_metrics_check_name_at", "check_metrics", ["check_name", "name", "at"])
    op.create_index("ix_check_metrics_at", "check_metrics", ["at"])
    op.create_table(
        "metric_rollups",
        sa.Column("check_name", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("bucket", UTCDateTime, nullable=False),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("value_min", sa.Float, nullable=False),
        sa.Column("value_max", sa.Float, nullable=False),
        sa.Column("value_avg", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("check_name", "name", "bucket"),
    )

    if op.get_bind().dialect.name == "sqlite":
        # rollup buckets were written without microseconds, so a bucket at exactly a span's
        # start compared as before it: written now as every other timestamp is
        op.execute(
            "UPDATE check_rollups SET bucket = bucket || '.000000' WHERE length(bucket) = 19"
        )


def downgrade() -> None:
    op.drop_table("metric_rollups")
    op.drop_table("check_metrics")
