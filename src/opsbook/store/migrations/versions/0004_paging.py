"""Paging: on-call overrides, escalations, the notification outbox, acknowledgement links.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schedule", sa.String(100), nullable=False),
        sa.Column("layer", sa.String(100)),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("why", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("removed_at", UTCDateTime),
        sa.Column("removed_by", sa.String(200)),
    )
    op.create_table(
        "escalations",
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("level", sa.Integer, nullable=False),  # the level last paged; 0 before any
        sa.Column("repeats", sa.Integer, nullable=False),
        sa.Column("next_at", UTCDateTime),  # when the next step is due; NULL once stopped
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("stopped_at", UTCDateTime),
        sa.Column("stop_reason", sa.String(100)),
        sa.Column("acked_sent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("resolved_sent", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_escalations_next_at", "escalations", ["next_at"])
    op.create_table(
        "outbox",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),  # idempotency
        sa.Column("incident_id", sa.String(32)),
        sa.Column("kind", sa.String(20), nullable=False),  # page, update, ack, resolve, test…
        sa.Column("channel", sa.String(100), nullable=False),  # a channel name, or person:NAME/…
        sa.Column("recipient", sa.String(200), nullable=False),  # who, for people to read
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),  # pending, delivered, failed, cancelled
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("claimed_until", UTCDateTime),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "ack_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime),
    )


def downgrade() -> None:
    for table in ("ack_tokens", "outbox", "escalations", "oncall_overrides"):
        op.drop_table(table)
