"""The lab store: every bluesky document, every trial and sample, every run, and the
server's users, sessions and audit log, in one SQLite file (the embedded default) or a
database on a PostgreSQL server (a URL such as ``postgresql://lab@dbhost/sdl``)."""

from lab.states import TrialStatus
from lab.store._accounts import Accounts, SessionRecord, UserRecord
from lab.store._audit import AuditEntry, AuditLog
from lab.store._diagnoses import DiagnosisLog
from lab.store._notifications import Delivery, NotificationLog
from lab.store._refills import Refill, RefillLog
from lab.store._store import (
    CampaignMismatch,
    RunRecord,
    Store,
    StoreError,
    StoreInUse,
    TrialRecord,
    TrialStream,
    is_database_url,
    store_label,
)

__all__ = [
    "Accounts",
    "AuditEntry",
    "AuditLog",
    "CampaignMismatch",
    "Delivery",
    "DiagnosisLog",
    "NotificationLog",
    "Refill",
    "RefillLog",
    "RunRecord",
    "SessionRecord",
    "Store",
    "StoreError",
    "StoreInUse",
    "TrialRecord",
    "TrialStatus",
    "TrialStream",
    "UserRecord",
    "is_database_url",
    "store_label",
]
