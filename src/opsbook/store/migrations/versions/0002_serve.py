"""opsbook serve: check results and their 5-minute rollups, alerts and alert events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("check_name", sa.String(100), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_check_results_check_at", "check_results", ["check_name", "at"])
    op.create_index("ix_check_results_at", "check_results", ["at"])
    op.create_table(
        "check_rollups",
        sa.Column("check_name", sa.String(100), nullable=False),
        sa.Column("bucket", UTCDateTime, nullable=False),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("ok", sa.Integer, nullable=False),
        sa.Column("warning", sa.Integer, nullable=False),
        sa.Column("critical", sa.Integer, nullable=False),
        sa.Column("unknown", sa.Integer, nullable=False),
        sa.Column("value_min", sa.Float),
        sa.Column("value_max", sa.Float),
        sa.Column("value_avg", sa.Float),
        sa.Column("duration_avg_ms", sa.Float),
        sa.PrimaryKeyConstraint("check_name", "bucket"),
    )
    op.create_table(
        "alerts",
        sa.Column("fingerprint", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("severity", sa.SmallInteger),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("pending_since", UTCDateTime),
        sa.Column("firing_since", UTCDateTime),
        sa.Column("last_bad_at", UTCDateTime),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("incident_id", sa.String(32)),
        sa.Column("flapping", sa.Boolean, nullable=False),
        sa.Column("flips", sa.JSON, nullable=False),
        sa.Column("last_status", sa.SmallInteger),
        sa.Column("updated_at", UTCDateTime),
    )
    op.create_table(
        "alert_events",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("severity", sa.SmallInteger),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("incident_id", sa.String(32)),
        sa.Column("data", sa.JSON),
    )
    op.create_index("ix_alert_events_fingerprint", "alert_events", ["fingerprint", "id"])
    op.create_index("ix_alert_events_at", "alert_events", ["at"])


def downgrade() -> None:
    for table in ("alert_events", "alerts", "check_rollups", "check_results"):
        op.drop_table(table)
