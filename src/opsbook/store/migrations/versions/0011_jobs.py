"""The calendar's jobs: their state (known since, the slot last taken) and every run.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_state",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("known_since", UTCDateTime, nullable=False),
        sa.Column("last_slot", UTCDateTime, nullable=True),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("slot", UTCDateTime, nullable=True),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("deadline", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("status", sa.SmallInteger, nullable=True),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("output", sa.Text, nullable=False, server_default=""),
        sa.Column("data", sa.JSON, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False, server_default=""),
        sa.Column("holder", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_job_runs_job_started", "job_runs", ["job", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_job_runs_job_started", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("job_state")
