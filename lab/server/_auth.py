"""Logins, sessions and roles for the lab server.

Browsers hold a session cookie (HttpOnly, SameSite=Strict) and send a CSRF token in a
header with every request that changes something, from a page of this server (the Origin
header, when a browser sends one, must be this server's); scripts send a bearer token and
need no CSRF token (no cookie authenticates them). Tokens are random; the store keeps only
their HMAC under the server's secret, and a session's CSRF token is an HMAC of its token,
never stored, so a copy of the store can neither log in nor forge a request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from zxcvbn import zxcvbn

from lab.accounts.users import Role, at_least, authenticate
from lab.errors import LabError
from lab.server._throttle import LoginThrottle
from lab.store import Store

COOKIE = "lab_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_SECRET = 32
#: the guesses an attacker would need, as zxcvbn estimates them (patterns, repeats,
#: sequences, dictionary words and keyboard walks count for little): 10**24 is about 80 bits
MIN_SECRET_GUESSES_LOG10 = 24.0


class SecretError(LabError, ValueError):
    """The server's secret is missing, empty, short or easy to guess."""


def check_secret(secret: str | None) -> str:
    """Refuse a missing, short or guessable secret (raises ``SecretError``).

    Strength is judged by an estimate of the guesses it takes (zxcvbn), not by a list of
    known defaults: ``abcdefgh`` four times over is 32 characters and no secret at all."""
    hint = (
        "set LAB_SECRET_KEY to a random string of at least "
        f"{MIN_SECRET} characters, e.g. python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'; or run with --demo on a simulated lab"
    )
    if not secret or not secret.strip():
        raise SecretError(f"no secret: {hint}")
    if len(secret) < MIN_SECRET:
        raise SecretError(f"the secret is shorter than {MIN_SECRET} characters: {hint}")
    guesses = zxcvbn(secret[:256])["guesses_log10"]
    if guesses < MIN_SECRET_GUESSES_LOG10:
        raise SecretError(
            f"the secret is easy to guess (about 10^{guesses:.0f} guesses; it needs "
            f"10^{MIN_SECRET_GUESSES_LOG10:.0f}): it repeats, follows a pattern or is "
            f"made of words; {hint}"
        )
    return secret


@dataclass(frozen=True)
class Principal:
    """Who is asking, with which role, and how they authenticated."""

    user: str
    role: str
    via: Literal["browser", "token"]
    token_hash: str
    csrf: str | None
    #: an AI agent's user: what would move hardware waits for approval unless granted
    agent: bool = False


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

    def _csrf(self, token: str) -> str:
        """A browser session's CSRF token: derived from its session token, so it is never
        stored and a page can be given it again after a reload."""
        return hmac.new(self._key, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()

    def login(
        self, name: str, password: str, via: Literal["browser", "token"], ttl_s: float | None = None
    ) -> Login | None:
        """A new browser session for a user whose password checks out (a cookie and a CSRF token)."""
        user = authenticate(self._store, name, password)
        if user is None:
            return None
        token = secrets.token_urlsafe(32)
        csrf = self._csrf(token) if via == "browser" else None
        default = self.browser_ttl_s if via == "browser" else self.token_ttl_s
        expires = time.time() + (ttl_s or default)
        self._store.accounts.add_session(self._hash(token), user.name, via, expires)
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
        csrf = self._csrf(token) if via == "browser" else None
        return Principal(user.name, user.role, via, token_hash, csrf, bool(user.agent))


def current_principal(request: Request) -> Principal:
    """Any logged-in user; a browser's unsafe request must carry its CSRF token."""
    auth: Auth = request.app.state.auth
    principal = auth.principal(request)
    if principal is None:
        raise HTTPException(401, "not logged in, or the session expired; log in again")
    request.state.principal = principal
    if principal.via == "browser" and request.method not in SAFE_METHODS:
        _same_origin(request)
        sent = request.headers.get(CSRF_HEADER, "")
        if not principal.csrf or not hmac.compare_digest(sent, principal.csrf):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return principal


def _same_origin(request: Request) -> None:
    """A browser names the page a request comes from in ``Origin``; a change asked for by a
    page of another site is refused even if the cookie came along."""
    origin = request.headers.get("origin")
    if origin is None:  # not sent by every browser on every request; the CSRF token holds
        return
    host = request.headers.get("host", "")
    if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
        raise HTTPException(
            403, f"a change was asked for by a page of {origin[:100]}, not of this server"
        )


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
