"""The store's tables (SQLAlchemy Core), in one place so every part writes the same schema."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

campaigns = Table(
    "campaigns",
    metadata,
    Column("name", String, primary_key=True),
    Column("created", Float, nullable=False),
    Column("definition", JSON, nullable=False),
    Column("lab", JSON, nullable=False),
    # the planner's current choice: {"trials": [idx, ...], "rule": "model" | "observed"}
    Column("best", JSON),
)

#: proposed | awaiting_approval | running | completed | failed | rejected
TRIAL_STATUSES = ("proposed", "awaiting_approval", "running", "completed", "failed", "rejected")

trials = Table(
    "trials",
    metadata,
    Column("campaign", String, ForeignKey("campaigns.name"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("status", String, nullable=False),
    Column("parameters", JSON, nullable=False),  # name -> "1.5 milliliter"
    Column("planner", String, nullable=False),  # provenance: planner and generator
    Column("outcomes", JSON),
    Column("error", Text),
    Column("run_uid", String),
    Column("sample_id", String),
    Column("proposed", Float, nullable=False),
    Column("finished", Float),
    Column("decided_by", String),  # who approved, edited or rejected it
)

samples = Table(
    "samples",
    metadata,
    Column("id", String, primary_key=True),
    Column("campaign", String, nullable=False),
    Column("trial", Integer, nullable=False),
    Column("composition", JSON, nullable=False),  # reagent -> "1.5 milliliter"
    Column("fate", String, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_uid", String, nullable=False, index=True),
    Column("name", String, nullable=False),
    Column("doc", JSON, nullable=False),
)

#: one row per bluesky run, campaign or by hand, indexed from its start and stop documents
runs = Table(
    "runs",
    metadata,
    Column("uid", String, primary_key=True),
    Column("scan_id", Integer, nullable=False, index=True),
    Column("plan_name", String),
    Column("started", Float, nullable=False),
    Column("finished", Float),
    Column("exit_status", String),
    Column("reason", Text),
    Column("campaign", String),
    Column("trial", Integer),
    Column("operator", String),
)

users = Table(
    "users",
    metadata,
    Column("name", String, primary_key=True),
    Column("role", String, nullable=False),  # viewer | operator | staff
    Column("password_hash", String, nullable=False),  # argon2id
    Column("created", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String, primary_key=True),  # HMAC of the token; the token is not kept
    Column("user", String, ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    Column("kind", String, nullable=False),  # browser (cookie + CSRF) | token (scripts)
    Column("csrf", String),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False),
)

#: append-only: triggers refuse UPDATE and DELETE (see _audit.py)
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("user", String),
    Column("role", String),
    Column("client", String),
    Column("action", String, nullable=False),
    Column("target", String),
    Column("detail", JSON),
    Column("outcome", String, nullable=False),  # ok | refused: ... | error: ...
)

#: one row per diagnostic check (``lab diagnose``), for each device's history
diagnoses = Table(
    "diagnoses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session", Float, nullable=False, index=True),  # when its diagnosis started
    Column("lab", String, nullable=False),
    Column("device", String, nullable=False, index=True),
    Column("check", String, nullable=False),
    Column("status", String, nullable=False),  # pass | warn | fail | skipped
    Column("value", String),
    Column("magnitude", Float),
    Column("unit", String),
    Column("warn", String),
    Column("fail", String),
    Column("hint", Text),
    Column("detail", Text),
    Column("time", Float, nullable=False),
)
