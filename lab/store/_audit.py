"""The audit log: who did what, when, from where, and the outcome; rows are never changed.

Append-only is enforced by the database itself (triggers that refuse UPDATE and DELETE),
not just by the absence of a method, so no code path can rewrite history. Because a row can
never be removed, none may be too big or too deep to read back: text is clipped and a large
or deeply nested detail is kept as a summary with its size and SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, text

from lab.store._schema import audit

#: the most a field of a row holds: text in characters, a detail as JSON in characters
MAX_TEXT, MAX_DETAIL, MAX_DEPTH = 500, 4000, 8


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT:
        return text
    return f"{text[: MAX_TEXT - 40]}... ({len(text)} characters in all)"


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (counted without recursion: any depth can be given)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list | tuple):
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _bounded(detail: dict[str, Any] | None) -> dict[str, Any] | None:
    """``detail`` as it is if it is small and shallow, else a summary of it."""
    if detail is None:
        return None
    if _depth(detail) > MAX_DEPTH:
        return {"summary": f"a detail nested more than {MAX_DEPTH} deep, not kept"}
    text = json.dumps(detail, default=str)
    if len(text) <= MAX_DETAIL:
        return detail
    return {
        "summary": text[:200] + "...",
        "characters": len(text),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


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
        """Add one line to the audit log (it can never be changed or removed); text is
        clipped and a large or deep ``detail`` summarised, so every row reads back."""
        with self._engine.begin() as c:
            c.execute(
                insert(audit).values(
                    time=time.time(),
                    user=_clip(user),
                    role=_clip(role),
                    client=_clip(client),
                    action=_clip(action),
                    target=_clip(target),
                    detail=_bounded(detail),
                    outcome=_clip(outcome),
                )
            )

    def entries(
        self,
        limit: int = 200,
        before: int | None = None,
        user: str | None = None,
        action: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first; ``before`` pages back from an entry id; ``user`` and ``action``
        keep only that user's entries and actions starting with that text."""
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(audit.c.id < before)
        if user:
            query = query.where(audit.c.user == user)
        if action:
            query = query.where(audit.c.action.startswith(action, autoescape=True))
        with self._engine.connect() as c:
            return [AuditEntry(**r._mapping) for r in c.execute(query)]
