"""Containment and recovery: action runs, procedure runs and their steps.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=True),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("status", sa.SmallInteger, nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("output", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_action_runs_action_started", "action_runs", ["action", "started_at"])
    op.create_table(
        "procedure_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("procedure", sa.String(200), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("next_step", sa.Integer, nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
    )
    op.create_table(
        "procedure_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("ok", sa.Boolean, nullable=True),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_procedure_steps_run", "procedure_steps", ["run_id", "step"])


def downgrade() -> None:
    op.drop_index("ix_procedure_steps_run", table_name="procedure_steps")
    op.drop_table("procedure_steps")
    op.drop_table("procedure_runs")
    op.drop_index("ix_action_runs_action_started", table_name="action_runs")
    op.drop_table("action_runs")
