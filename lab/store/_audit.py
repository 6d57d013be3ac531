"""The audit log: who did what, when, from where, and the outcome; rows are never changed.

Append-only is enforced by the database itself (triggers that refuse UPDATE and DELETE),
not just by the absence of a method, so no code path can rewrite history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, text

from lab.store._schema import audit


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: who did what to what, from where, and the outcome."""

    id: int
    time: float
    user: str | None
    role: str | None
    client: str | None
    action: str
    target: str | None
    detail: dict[str, Any] | None
    outcome: str


def make_append_only(engine: Engine) -> None:
    """Make the audit table refuse UPDATE and DELETE, by a trigger in the database itself
    (SQLite or PostgreSQL), so no code path of ours or anyone's can rewrite it."""
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(
                text(
                    "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = '23000'; "
                    "END $$"
                )
            )
            c.execute(
                text(
                    "CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE "
                    "ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
                )
            )
            return
        for verb in ("UPDATE", "DELETE"):
            c.execute(
                text(
                    f"CREATE TRIGGER IF NOT EXISTS audit_no_{verb.lower()} BEFORE {verb} ON audit "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                )
            )


class AuditLog:
    """Append and read the ``audit`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(
        self,
        action: str,
        outcome: str,
        *,
        user: str | None = None,
        role: str | None = None,
        client: str | None = None,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Add one line to the audit log (it can never be changed or removed)."""
        with self._engine.begin() as c:
            c.execute(
                insert(audit).values(
                    time=time.time(),
                    user=user,
                    role=role,
                    client=client,
                    action=action,
                    target=target,
                    detail=detail,
                    outcome=outcome,
                )
            )

    def entries(self, limit: int = 200, before: int | None = None) -> list[AuditEntry]:
        """Newest first; ``before`` pages back from an entry id."""
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(audit.c.id < before)
        with self._engine.connect() as c:
            return [AuditEntry(**r._mapping) for r in c.execute(query)]
