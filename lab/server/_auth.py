"""Logins, sessions and roles for the lab server.

Browsers hold a session cookie (HttpOnly, SameSite=Strict) and send a CSRF token in a
header with every request that changes something; scripts send a bearer token and need no
CSRF token (no cookie authenticates them). Tokens are random; the store keeps only their
HMAC under the server's secret, so a copy of the store cannot be used to log in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from fastapi import HTTPException, Request

from lab.server._throttle import LoginThrottle
from lab.store import Store
from lab.users import Role, at_least, authenticate

COOKIE = "lab_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_SECRET = 32
_WEAK = {"changeme", "change-me", "secret", "default", "password", "demo", "lab", "insecure"}


class SecretError(ValueError):
    """The server's secret is missing, empty, short or a well-known default."""


def check_secret(secret: str | None) -> str:
    """Refuse a missing, short or well-known secret (raises ``SecretError``)."""
    hint = (
        "set LAB_SECRET_KEY to a random string of at least "
        f"{MIN_SECRET} characters, e.g. python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'; or run with --demo on a simulated lab"
    )
    if not secret or not secret.strip():
        raise SecretError(f"no secret: {hint}")
    if secret.lower() in _WEAK or len(set(secret)) < 8:
        raise SecretError(f"the secret is a well-known default: {hint}")
    if len(secret) < MIN_SECRET:
        raise SecretError(f"the secret is shorter than {MIN_SECRET} characters: {hint}")
    return secret


@dataclass(frozen=True)
class Principal:
    """Who is asking, with which role, and how they authenticated."""

    user: str
    role: str
    via: Literal["browser", "token"]
    token_hash: str
    csrf: str | None


@dataclass(frozen=True)
class Login:
    """The login form's fields."""

    token: str
    csrf: str | None
    expires: float
    user: str
    role: str


class Auth:
    """Issues and checks sessions.

    Args:
        store: where users and sessions are kept.
        secret: the server's secret (checked with :func:`check_secret`).
        browser_ttl_s, token_ttl_s: default lifetimes of a browser session and a token.
    """

    def __init__(
        self,
        store: Store,
        secret: str,
        browser_ttl_s: float = 12 * 3600.0,
        token_ttl_s: float = 24 * 3600.0,
    ) -> None:
        self._store = store
        self._key = check_secret(secret).encode()
        self.browser_ttl_s = browser_ttl_s
        self.token_ttl_s = token_ttl_s
        #: failed logins per user and address, and the one thread that checks passwords
        self.throttle = LoginThrottle()

    def _hash(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def login(
        self, name: str, password: str, via: Literal["browser", "token"], ttl_s: float | None = None
    ) -> Login | None:
        """A new browser session for a user whose password checks out (a cookie and a CSRF token)."""
        user = authenticate(self._store, name, password)
        if user is None:
            return None
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24) if via == "browser" else None
        default = self.browser_ttl_s if via == "browser" else self.token_ttl_s
        expires = time.time() + (ttl_s or default)
        self._store.accounts.add_session(self._hash(token), user.name, via, csrf, expires)
        return Login(token, csrf, expires, user.name, user.role)

    def logout(self, principal: Principal) -> None:
        """End a session."""
        self._store.accounts.remove_session(principal.token_hash)

    def principal(self, request: Request) -> Principal | None:
        """Who sent the request (cookie or bearer token), or None."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        via: Literal["browser", "token"] = "token"
        if token is None:
            token, via = request.cookies.get(COOKIE), "browser"
        if not token:
            return None
        token_hash = self._hash(token)
        session = self._store.accounts.session(token_hash)
        if session is None or session.kind != via:
            return None
        user = self._store.accounts.user(session.user)
        if user is None:
            return None
        return Principal(user.name, user.role, via, token_hash, session.csrf)


def current_principal(request: Request) -> Principal:
    """Any logged-in user; a browser's unsafe request must carry its CSRF token."""
    auth: Auth = request.app.state.auth
    principal = auth.principal(request)
    if principal is None:
        raise HTTPException(401, "not logged in, or the session expired; log in again")
    request.state.principal = principal
    if principal.via == "browser" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not principal.csrf or not hmac.compare_digest(sent, principal.csrf):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return principal


def authorized(request: Request, role: Role) -> Principal:
    """The logged-in user if their role is ``role`` or above; ``HTTPException`` otherwise
    (for an endpoint that checks on threads of its own, as the emergency stop does)."""
    principal = current_principal(request)
    if not at_least(principal.role, role):
        raise HTTPException(
            403, f"needs role {role} or above; {principal.user} is {principal.role}"
        )
    return principal


def require(role: Role):
    """A dependency that admits ``role`` and the roles above it."""

    def dependency(request: Request) -> Principal:
        return authorized(request, role)

    return dependency
