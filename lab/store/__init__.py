"""The lab store: every bluesky document, every trial and sample, every run, and the
server's users, sessions and audit log, in one SQLite file (or a SQLAlchemy URL)."""

from lab.store._accounts import Accounts, SessionRecord, UserRecord
from lab.store._audit import AuditEntry, AuditLog
from lab.store._diagnoses import DiagnosisLog
from lab.store._store import (
    CampaignMismatch,
    RunRecord,
    Store,
    StoreError,
    StoreInUse,
    TrialRecord,
)

__all__ = [
    "Accounts",
    "AuditEntry",
    "AuditLog",
    "CampaignMismatch",
    "DiagnosisLog",
    "RunRecord",
    "SessionRecord",
    "Store",
    "StoreError",
    "StoreInUse",
    "TrialRecord",
    "UserRecord",
]
