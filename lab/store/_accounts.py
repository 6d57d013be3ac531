"""Users and their sessions, as stored; hashing and policy live in ``lab.accounts.users``."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update

from lab.store._schema import sessions, unattended, users


@dataclass(frozen=True)
class UserRecord:
    """A user of the lab server: name, role, password hash, when created."""

    name: str
    role: str
    password_hash: str
    created: float
    agent: bool | None = None


@dataclass(frozen=True)
class SessionRecord:
    """A login session or an API token (only its hash is kept)."""

    token_hash: str
    user: str
    kind: str
    created: float
    expires: float


class Accounts:
    """The ``users`` and ``sessions`` tables."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_user(self, name: str, role: str, password_hash: str, agent: bool = False) -> None:
        """Add a user with a role and an argon2id password hash (``agent``: an AI agent's)."""
        with self._engine.begin() as c:
            c.execute(
                insert(users).values(
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    created=time.time(),
                    agent=agent or None,
                )
            )

    def grant_unattended(self, user: str, campaign: str, by: str) -> None:
        """Let the agent ``user`` run ``campaign`` without a person's approval."""
        with self._engine.begin() as c:
            c.execute(
                delete(unattended).where(
                    (unattended.c.user == user) & (unattended.c.campaign == campaign)
                )
            )
            c.execute(
                insert(unattended).values(user=user, campaign=campaign, by=by, time=time.time())
            )

    def revoke_unattended(self, user: str, campaign: str) -> bool:
        """Take the grant back; False if there was none."""
        with self._engine.begin() as c:
            gone = c.execute(
                delete(unattended).where(
                    (unattended.c.user == user) & (unattended.c.campaign == campaign)
                )
            )
            return gone.rowcount > 0

    def unattended(self, user: str) -> list[str]:
        """The campaigns the agent ``user`` may run without a person's approval."""
        with self._engine.connect() as c:
            rows = c.execute(select(unattended.c.campaign).where(unattended.c.user == user))
            return sorted(r.campaign for r in rows)

    def update_user(self, name: str, **values: str) -> None:
        """Change a user's role or password hash, and end every session and token of theirs
        in the same transaction: what a changed password or role was meant to stop, an old
        cookie must not go on doing."""
        with self._engine.begin() as c:
            c.execute(update(users).where(users.c.name == name).values(**values))
            c.execute(delete(sessions).where(sessions.c.user == name))

    def remove_user(self, name: str) -> bool:
        """Remove the user and every session of theirs; False if there was no such user."""
        with self._engine.begin() as c:
            c.execute(delete(sessions).where(sessions.c.user == name))
            c.execute(delete(unattended).where(unattended.c.user == name))
            return c.execute(delete(users).where(users.c.name == name)).rowcount > 0

    def user(self, name: str) -> UserRecord | None:
        """One user, or None."""
        with self._engine.connect() as c:
            row = c.execute(select(users).where(users.c.name == name)).first()
        return None if row is None else UserRecord(**row._mapping)

    def users(self) -> list[UserRecord]:
        """Every user, by name."""
        with self._engine.connect() as c:
            return [
                UserRecord(**r._mapping) for r in c.execute(select(users).order_by(users.c.name))
            ]

    def add_session(self, token_hash: str, user: str, kind: str, expires: float) -> None:
        """Keep a session or token by the hash of its secret, with its kind and expiry."""
        with self._engine.begin() as c:
            c.execute(delete(sessions).where(sessions.c.expires < time.time()))
            c.execute(
                insert(sessions).values(
                    token_hash=token_hash,
                    user=user,
                    kind=kind,
                    created=time.time(),
                    expires=expires,
                )
            )

    def session(self, token_hash: str) -> SessionRecord | None:
        """The live session with this token hash (an expired one is None)."""
        with self._engine.connect() as c:
            row = c.execute(
                select(sessions).where(
                    (sessions.c.token_hash == token_hash) & (sessions.c.expires >= time.time())
                )
            ).first()
        if row is None:
            return None
        return SessionRecord(row.token_hash, row.user, row.kind, row.created, row.expires)

    def remove_session(self, token_hash: str) -> None:
        """End one session (by its hash)."""
        with self._engine.begin() as c:
            c.execute(delete(sessions).where(sessions.c.token_hash == token_hash))
