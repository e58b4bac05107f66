"""The tables of what runs: the calendar's jobs, containment actions and recovery procedures
(on the same metadata as store/tables.py, which re-exports them)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, SmallInteger, String, Table, Text

from opsbook.store.schema import metadata
from opsbook.store.types import UTCDateTime

# The calendar (jobs:): when each job became known (no catch-up or overdue before that) and the
# newest scheduled time taken, which a conditional UPDATE claims so a slot runs once.
job_state = Table(
    "job_state",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("known_since", UTCDateTime, nullable=False),
    Column("last_slot", UTCDateTime, nullable=True),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(200), nullable=False),
    Column("trigger", String(20), nullable=False),  # schedule, catch-up, manual
    Column("slot", UTCDateTime, nullable=True),  # the scheduled time it ran for
    Column("started_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),  # killed by then; abandoned after
    Column("finished_at", UTCDateTime, nullable=True),
    Column("status", SmallInteger, nullable=True),  # a Status; NULL while running
    Column("summary", Text, nullable=False, default=""),
    Column("output", Text, nullable=False, default=""),  # the tail, kept retention.job_output
    Column("data", JSON, nullable=True),  # a built-in action's findings (reports compare them)
    Column("actor", String(200), nullable=False, default=""),
    Column("holder", String(200), nullable=False, default=""),  # worker_id of the runner
    Index("ix_job_runs_job_started", "job", "started_at"),
)

# Containment and recovery (actions:, procedures:): every action run, in an incident or not,
# and every procedure run with its steps, so one killed mid-way resumes where it stopped.
action_runs = Table(
    "action_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(200), nullable=False),
    Column("incident_id", String(32), nullable=True),
    Column("trigger", String(20), nullable=False),  # manual, auto, procedure
    Column("actor", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("status", SmallInteger, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("summary", Text, nullable=False, default=""),
    Column("output", Text, nullable=False, default=""),
    Index("ix_action_runs_action_started", "action", "started_at"),
)

procedure_runs = Table(
    "procedure_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("procedure", String(200), nullable=False),
    Column("incident_id", String(32), nullable=True),
    Column("actor", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("state", String(20), nullable=False),  # running, failed, done, abandoned
    Column("next_step", Integer, nullable=False),  # 0-based: where a resume starts
    Column("holder", String(200), nullable=False),
)

procedure_steps = Table(
    "procedure_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False),
    Column("step", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("ok", Boolean, nullable=True),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_procedure_steps_run", "run_id", "step"),
)


# Who may use the web console and the API: people with a password (Argon2), and API tokens
# (stored as their SHA-256; shown once when made).
users = Table(
    "users",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime, nullable=True),
    # defined under users: in opsbook.yaml (0015): the file is their source; the CLI leaves
    # them alone and a reload adds, changes and removes them
    Column("managed", Boolean, nullable=False, default=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# Signed-in browsers: the cookie holds a random id, the store its SHA-256, so a read of the
# store cannot sign anyone in; ended by logout, by a password change, or after idle time.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_name", String(200), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_web_sessions_user", "user_name"),
)
