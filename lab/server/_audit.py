"""Every request that could change something goes into the store's append-only audit log:
who, from where, what, on what, and how it ended, refusals included.

A pure ASGI middleware, so server-sent event streams pass through untouched. Handlers add
what only they know (the target and the details) in ``request.state.audit``; the error
handlers leave the refusal's message in ``request.state.error``. The row is written before
the answer is sent: whoever has been answered can find it in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lab.server._auth import SAFE_METHODS, Principal
from lab.store import AuditLog

log = logging.getLogger(__name__)


class AuditMiddleware:
    """Writes every request that could change something to the audit log, refusals included, with who, from where and the outcome.

    Args:
        app: the application behind it.
        log: the store's audit log.
        identify: who sent a request, for one refused before its route checked (bad JSON,
            no such route, a body too large): the row names them all the same.
    """

    def __init__(
        self, app: ASGIApp, log: AuditLog, identify: Callable[[Request], Principal | None]
    ) -> None:
        self.app = app
        self.log = log
        self.identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        written = False

        async def logged(message: Message) -> None:
            nonlocal written
            if message["type"] == "http.response.start" and not written:
                written = True
                await anyio.to_thread.run_sync(self._append, scope, message["status"])
            await send(message)

        try:
            await self.app(scope, receive, logged)
        finally:
            if not written:  # the app failed before it answered
                await anyio.to_thread.run_sync(self._append, scope, 500)

    def _append(self, scope: Scope, status: int) -> None:
        state: dict[str, Any] = scope.get("state", {})
        principal = state.get("principal") or self.identify(Request(scope))
        noted = state.get("audit", {})
        route = scope.get("route")
        action = noted.get("action") or getattr(route, "name", None) or scope["path"]
        if status < 400:
            outcome = "ok"
        else:
            kind = "refused" if status < 500 else "error"
            outcome = f"{kind} ({status}): {state.get('error', '')}".rstrip(": ")
        client = scope.get("client")
        user = principal.user if principal else noted.get("user")
        role = principal.role if principal else noted.get("role")
        sender = f"{client[0]}:{client[1]}" if client else None
        target = noted.get("target") or f"{scope['method']} {scope['path']}"
        self.log.append(
            action,
            outcome,
            user=user,
            role=role,
            client=sender,
            target=target,
            detail=noted.get("detail"),
        )
        # the server's console is the trail a person at the machine reads: one line an action
        who = f"{user} ({role})" if user and role else user or "someone unknown"
        log.info("%s %s %s from %s: %s", who, action, target, sender or "?", outcome)
