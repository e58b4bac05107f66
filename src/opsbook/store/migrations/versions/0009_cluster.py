"""Deployments of several opsbook serve: the leader's lease, the members, and alerts a
follower received for the leader to process.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cluster_lease",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("token", sa.BigInteger, nullable=False),
        sa.Column("acquired_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "cluster_members",
        sa.Column("instance", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
    )

    op.create_table(
        "intake_queue",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("received_by", sa.String(200), nullable=False),
        sa.Column("alert", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_queue")
    op.drop_table("cluster_members")
    op.drop_table("cluster_lease")
