"""Who may use the lab, with which role; passwords hashed with argon2id.

Roles are ordered: a ``viewer`` reads, an ``operator`` also runs campaigns, pauses,
approves and presses the emergency stop, ``staff`` also reset after an emergency stop,
drive devices by hand and manage users.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lab.accounts.roles import ROLES, Role
from lab.errors import LabError
from lab.store import Store, UserRecord

MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): ~50 ms and 19 MB per
#: check here, where the library's defaults (64 MiB, 3 passes, 4 lanes) took ~340 ms and
#: 60 MB, so a flood of logins cost the lab server its memory and the emergency stop its
#: CPU. Hashes made with other parameters still verify (they carry their own).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class UserError(LabError, ValueError):
    """A user that cannot be added, changed or removed, and why."""

    status = 422


def at_least(role: str, needed: Role) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def add_user(store: Store, name: str, role: str, password: str, agent: bool = False) -> None:
    """Add a user with a role and a password (hashed with argon2id); refuses a weak password or a taken name.

    Args:
        store: the lab's store.
        name: the user name.
        role: ``viewer``, ``operator`` or ``staff``.
        password: the password (checked for strength).
        agent: an AI agent's user: never staff; what it starts or proposes waits for a
            person's approval unless staff grant it unattended runs of that campaign.
    """
    if not _NAME.match(name):
        raise UserError(f"user name {name!r}: use 1-64 letters, digits, '_', '.', '-'")
    if role not in ROLES:
        raise UserError(f"role {role!r}: choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    if agent and role == "staff":
        raise UserError(f"user {name!r}: an agent is a viewer or an operator, never staff")
    if store.accounts.user(name) is not None:
        raise UserError(f"user {name!r} exists already")
    store.accounts.add_user(name, role, _hasher.hash(password), agent)


def set_password(store: Store, name: str, password: str) -> None:
    """Give a user a new password (hashed with argon2id); refuses a weak one.

    Args:
        store: the lab's store.
        name: the user name.
        password: the new password (checked for strength).
    """
    if store.accounts.user(name) is None:
        raise UserError(f"no user {name!r}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    store.accounts.update_user(name, password_hash=_hasher.hash(password))


def remove_user(store: Store, name: str) -> None:
    """Remove a user and end their sessions; the last staff user cannot be removed.

    Args:
        store: the lab's store.
        name: the user name.
    """
    user = store.accounts.user(name)
    if user is None:
        raise UserError(f"no user {name!r}")
    staff = [u for u in store.accounts.users() if u.role == "staff"]
    if user.role == "staff" and len(staff) == 1:
        raise UserError(f"{name!r} is the last staff user; add another staff user first")
    store.accounts.remove_user(name)


def authenticate(store: Store, name: str, password: str) -> UserRecord | None:
    """The user if the password is theirs; None otherwise (same answer for an unknown name).

    Args:
        store: the lab's store.
        name: the user name.
        password: the password given.
    """
    user = store.accounts.user(name)
    if user is None:
        _hasher.hash(password)  # spend the same time, so a name cannot be probed by timing
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user
