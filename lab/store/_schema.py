"""The store's tables (SQLAlchemy Core), in one place so every part writes the same schema."""

from __future__ import annotations

import pint
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
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
    # SHA-256 of the definition, whose files (protocol, target) enter by their content
    Column("identity", String),
    # counts every change to the campaign's trials: what was read of them at one count
    # is still true at the same count
    Column("trials_version", Integer),
)


trials = Table(
    "trials",
    metadata,
    Column("campaign", String, ForeignKey("campaigns.name"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("status", String, nullable=False),
    Column("planner", String, nullable=False),  # provenance: planner and generator
    Column("error", Text),
    Column("run_uid", String),
    Column("sample_id", String),
    Column("proposed", Float, nullable=False),
    Column("finished", Float),
    Column("decided_by", String),  # who approved, edited or rejected it
    # the planner's suggestion: seed, observations, the model's prediction, ...
    Column("suggestion", JSON),
    # which run of the campaign (a process start, a resume) proposed it: a replay makes a
    # fresh planner where the campaign did
    Column("session", Integer),
)


def unit_name(q: pint.Quantity) -> str:
    """How ``trial_values.unit`` writes a quantity's unit: pint's full name, ``""`` for a
    pure number (``ureg.Quantity(m, "")`` reads either back).

    Args:
        q: the quantity.
    """
    return "" if q.units == pint.get_application_registry().dimensionless else str(q.units)


#: the trials' parameters and outcomes, one number with its unit (or one choice) a row
trial_values = Table(
    "trial_values",
    metadata,
    Column("campaign", String, primary_key=True),
    Column("trial", Integer, primary_key=True),
    Column("kind", String, primary_key=True),  # parameter | outcome
    Column("name", String, primary_key=True),
    Column("magnitude", Float),  # NULL: not a number (SQL has no NaN; a planner may)
    Column("unit", String, nullable=False),  # pint's name, "" for a pure number
    Column("position", Integer, nullable=False),  # the order they were given in
    Column("choice", String),  # a parameter with choices: the one taken (no magnitude)
    ForeignKeyConstraint(["campaign", "trial"], ["trials.campaign", "trials.idx"]),
)

#: the files a campaign ran with (campaign, protocol, lab, target), kept by their SHA-256
files = Table(
    "files",
    metadata,
    Column("sha256", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("text", Text, nullable=False),
)

samples = Table(
    "samples",
    metadata,
    Column("id", String, primary_key=True),
    Column("campaign", String, nullable=False),
    Column("trial", Integer, nullable=False),
    Column("composition", JSON, nullable=False),  # reagent -> "1.5 milliliter"
    Column("fate", String, nullable=False),
    # what the steps of installed packages measured of it, in order: [{"step": 5,
    # "reading": "balance-mass", "value": "2.0001 gram"}, ...]
    Column("measured", JSON, nullable=True),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_uid", String, nullable=False, index=True),
    Column("name", String, nullable=False),
    Column("doc", JSON, nullable=False),
    # a descriptor's stream, and its events': one stream is read without the others (and
    # without JSON functions, which a document holding NaN would fail)
    Column("stream", String),
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
    Column("station", String),  # the synthesis station a protocol run ran on
)

users = Table(
    "users",
    metadata,
    Column("name", String, primary_key=True),
    Column("role", String, nullable=False),  # viewer | operator | staff
    Column("password_hash", String, nullable=False),  # argon2id
    Column("created", Float, nullable=False),
    # an AI agent's user (MCP): its starts and proposals wait for a person's approval
    # unless staff granted it unattended runs of that campaign (NULL: a person)
    Column("agent", Boolean, nullable=True),
)

#: staff's grants: this agent user may run this campaign without a person's approval
unattended = Table(
    "unattended",
    metadata,
    Column("user", String, primary_key=True),
    Column("campaign", String, primary_key=True),
    Column("by", String, nullable=False),
    Column("time", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String, primary_key=True),  # HMAC of the token; the token is not kept
    Column("user", String, ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    # browser (cookie + CSRF, the CSRF token derived from the session's) | token (scripts);
    # stores made before carry a csrf column the server no longer writes
    Column("kind", String, nullable=False),
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

#: one row per message sent (or given up on) to a notification channel
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False, index=True),  # when it was delivered or given up
    Column("event_time", Float, nullable=False),
    Column("event", String, nullable=False),
    Column("severity", String, nullable=False),
    Column("subject", String, nullable=False),
    Column("title", Text, nullable=False),
    Column("channel", String, nullable=False),
    Column("status", String, nullable=False),  # sent | failed
    Column("attempts", Integer, nullable=False),
    Column("more", Integer, nullable=False),  # like events it stood for (rate limit, quiet hours)
    Column("error", Text),
)

#: one row per consumable a person refilled (a reservoir, a rack of vials): its new level
refills = Table(
    "refills",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("consumable", String, nullable=False, index=True),  # a reagent, or "vials"
    Column("level", String, nullable=False),  # "250 mL", "48 vials"
    Column("samples", Integer, nullable=False),  # samples in the store then (vials taken since)
    Column("user", String, nullable=False),
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
