"""Incidents, their append-only timeline, action items, per-day ID counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("severity", sa.SmallInteger, nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("commander", sa.String(200)),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("response_due_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("reviewed_at", UTCDateTime),
        sa.Column("summary", sa.Text),
        sa.Column("users_affected", sa.Text),
        sa.Column("business_impact", sa.Text),
        sa.Column("root_cause", sa.Text),
        sa.Column("resolution", sa.Text),
        sa.Column("prevention", sa.Text),
        sa.Column("lessons", sa.Text),
        sa.CheckConstraint("severity BETWEEN 1 AND 4", name="ck_incidents_severity"),
    )
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])
    op.create_table(
        "timeline",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False, server_default=""),
        sa.Column("data", sa.JSON),
    )
    op.create_index("ix_timeline_incident", "timeline", ["incident_id", "id"])
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("due", sa.Date),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("done_at", UTCDateTime),
        sa.Column("done_by", sa.String(200)),
    )
    op.create_index("ix_action_items_incident", "action_items", ["incident_id"])
    op.create_table(
        "incident_counters",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    _append_only("timeline")


def _append_only(table: str) -> None:
    """Nothing edits or deletes a timeline entry; a correction is a new entry."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION opsbook_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only: add a new entry instead', TG_TABLE_NAME;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION opsbook_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: add a new entry instead'); "
                "END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS timeline_append_only ON timeline")
        op.execute("DROP FUNCTION IF EXISTS opsbook_append_only()")
    for table in ("incident_counters", "action_items", "timeline", "incidents"):
        op.drop_table(table)
