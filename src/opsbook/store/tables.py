"""The schema, as SQLAlchemy Core tables. Changes go through a new Alembic migration."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)

# The tables of what runs (jobs, actions, procedures) live in run_tables, re-exported here
# with the one MetaData so everything reading it (migrations, schema tests) sees them all.
from opsbook.store.run_tables import (
    action_runs,
    api_tokens,
    job_runs,
    job_state,
    procedure_runs,
    procedure_steps,
    users,
    web_sessions,
)
from opsbook.store.schema import metadata
from opsbook.store.types import UTCDateTime

__all__ = [
    "action_runs",
    "api_tokens",
    "job_runs",
    "job_state",
    "metadata",
    "procedure_runs",
    "procedure_steps",
    "users",
    "web_sessions",
]

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(32), primary_key=True),  # INC-YYYY-MM-DD-N
    Column("title", Text, nullable=False),
    Column("service", String(200), nullable=False),
    Column("severity", SmallInteger, nullable=False),  # 1..4
    Column("phase", String(20), nullable=False),
    Column("commander", String(200)),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(200)),
    Column("response_due_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("reviewed_at", UTCDateTime),
    # What only a human can write for the post-incident report.
    Column("summary", Text),
    Column("users_affected", Text),
    Column("business_impact", Text),
    Column("root_cause", Text),
    Column("resolution", Text),
    Column("prevention", Text),
    Column("lessons", Text),
    Index("ix_incidents_opened_at", "opened_at"),
)

# Append-only: triggers in the migration refuse UPDATE and DELETE.
timeline = Table(
    "timeline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), ForeignKey("incidents.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("body", Text, nullable=False, default=""),
    Column("data", JSON),
    Index("ix_timeline_incident", "incident_id", "id"),
)

action_items = Table(
    "action_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), ForeignKey("incidents.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("owner", String(200)),
    Column("due", Date),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("done_at", UTCDateTime),
    Column("done_by", String(200)),
    Index("ix_action_items_incident", "incident_id"),
)

# Per-day incident numbers: INC-2026-11-28-1, -2, … claimed with an atomic upsert.
incident_counters = Table(
    "incident_counters",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("last", Integer, nullable=False),
)

# ---------------------------------------------------------------- opsbook serve (0002)

# BIGINT on PostgreSQL; SQLite's INTEGER PRIMARY KEY is already 64-bit and autoincrements.
RowId = BigInteger().with_variant(Integer(), "sqlite")

check_results = Table(
    "check_results",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("check_name", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("value", Float),
    Column("duration_ms", Float, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_check_results_check_at", "check_name", "at"),
    Index("ix_check_results_at", "at"),
)

# 5-minute summaries of results older than retention.raw
check_rollups = Table(
    "check_rollups",
    metadata,
    Column("check_name", String(100), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    Column("samples", Integer, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("warning", Integer, nullable=False),
    Column("critical", Integer, nullable=False),
    Column("unknown", Integer, nullable=False),
    Column("value_min", Float),
    Column("value_max", Float),
    Column("value_avg", Float),
    Column("duration_avg_ms", Float),
    PrimaryKeyConstraint("check_name", "bucket"),
)

# every measurement of a result beside its main value (a log check's p95, a CPU's iowait,
# an interface's bytes/s), one row each: the series `opsbook history --metric` and trend
# rules read (0008)
check_metrics = Table(
    "check_metrics",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("check_name", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("value", Float, nullable=False),
    Index("ix_check_metrics_check_name_at", "check_name", "name", "at"),
    Index("ix_check_metrics_at", "at"),
)

# their 5-minute summaries after retention.raw, kept for retention.rollups
metric_rollups = Table(
    "metric_rollups",
    metadata,
    Column("check_name", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    Column("samples", Integer, nullable=False),
    Column("value_min", Float, nullable=False),
    Column("value_max", Float, nullable=False),
    Column("value_avg", Float, nullable=False),
    PrimaryKeyConstraint("check_name", "name", "bucket"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("fingerprint", String(200), primary_key=True),
    Column("source", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("state", String(12), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("severity", SmallInteger),
    Column("summary", Text, nullable=False),
    Column("pending_since", UTCDateTime),
    Column("firing_since", UTCDateTime),
    Column("last_bad_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("incident_id", String(32)),
    Column("flapping", Boolean, nullable=False),
    Column("flips", JSON, nullable=False),
    Column("last_status", SmallInteger),
    Column("updated_at", UTCDateTime),
    # fired while silenced or in a maintenance window: open the incident once that ends
    Column("suppressed", Boolean, nullable=False, default=False),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("fingerprint", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("severity", SmallInteger),
    Column("summary", Text, nullable=False),
    Column("incident_id", String(32)),
    Column("data", JSON),
    Index("ix_alert_events_fingerprint", "fingerprint", "id"),
    Index("ix_alert_events_at", "at"),
)

# ---------------------------------------------------------------- silences (0003)

silences = Table(
    "silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("matcher", String(200), nullable=False),  # a check / alert name, or a glob
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("why", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expired_at", UTCDateTime),
    Column("expired_by", String(200)),
    Index("ix_silences_ends_at", "ends_at"),
)

# ---------------------------------------------------------------- paging (0004)

oncall_overrides = Table(
    "oncall_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("schedule", String(100), nullable=False),
    Column("layer", String(100)),
    Column("person", String(100), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("why", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("removed_at", UTCDateTime),
    Column("removed_by", String(200)),
)

escalations = Table(
    "escalations",
    metadata,
    Column("incident_id", String(32), ForeignKey("incidents.id"), primary_key=True),
    Column("level", Integer, nullable=False),
    Column("repeats", Integer, nullable=False),
    Column("next_at", UTCDateTime),
    Column("started_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
    Column("stop_reason", String(100)),
    Column("acked_sent", Boolean, nullable=False, default=False),
    Column("resolved_sent", Boolean, nullable=False, default=False),
    Index("ix_escalations_next_at", "next_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("incident_id", String(32)),
    Column("kind", String(20), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("claimed_by", String(100)),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

ack_tokens = Table(
    "ack_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("incident_id", String(32), ForeignKey("incidents.id"), nullable=False),
    Column("person", String(100), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
)

# ---------------------------------------------------------------- opsbook db (0005)

maintenance_runs = Table(
    "maintenance_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("target", Text, nullable=False),
    Column("object", Text, nullable=False),
    Column("statement", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_maintenance_runs_started", "started_at"),
)

backup_events = Table(
    "backup_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("source", String(200), nullable=False),
    Column("backup_id", String(200), nullable=True),
    Column("repo", String(200), nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("actor", String(200), nullable=False, default=""),
    Index("ix_backup_events_backup", "backup_id", "kind"),
    Index("ix_backup_events_source", "source", "kind", "started_at"),
)

backup_leases = Table(
    "backup_leases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("backup_id", String(200), nullable=False),
    Column("purpose", String(20), nullable=False),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_backup_leases_backup", "backup_id"),
)

job_locks = Table(
    "job_locks",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
)

log_baselines = Table(
    "log_baselines",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("saved_at", UTCDateTime, nullable=False),
    Column("saved_by", String(200), nullable=False, server_default=""),
    Column("entries", Integer, nullable=False),
    Column("span_seconds", Float, nullable=True),
    Column("templates", Integer, nullable=False),
    Column("state", Text, nullable=False),
)

# ---------------------------------------------------------------- deployments (0009)

# The one lease that makes an instance the leader: whoever holds an unexpired row leads; the
# token grows at every change of holder, and every leader-only transaction checks it (fencing)
cluster_lease = Table(
    "cluster_lease",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("instance", String(200), nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# every opsbook serve of the deployment, seen at each heartbeat
cluster_members = Table(
    "cluster_members",
    metadata,
    Column("instance", String(200), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(50), nullable=False),
    Column("role", String(20), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

# alerts posted to a follower's intake, stored at once for the leader to process
intake_queue = Table(
    "intake_queue",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("received_by", String(200), nullable=False),
    Column("alert", JSON, nullable=False),
)

# results of the checks a follower runs on its own host, for the leader to store and judge (0010)
relayed_results = Table(
    "relayed_results",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("instance", String(200), nullable=False),
    Column("result", JSON, nullable=False),
)
