"""Every request that could change something goes into the store's append-only audit log:
who, from where, what, on what, and how it ended, refusals included.

A pure ASGI middleware, so server-sent event streams pass through untouched. Handlers add
what only they know (the target and the details) in ``request.state.audit``; the error
handlers leave the refusal's message in ``request.state.error``.
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lab.server._auth import SAFE_METHODS
from lab.store import AuditLog


class AuditMiddleware:
    """Writes every request that could change something to the audit log, refusals included, with who, from where and the outcome."""

    def __init__(self, app: ASGIApp, log: AuditLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            await anyio.to_thread.run_sync(self._append, scope, status)

    def _append(self, scope: Scope, status: int) -> None:
        state: dict[str, Any] = scope.get("state", {})
        principal = state.get("principal")
        noted = state.get("audit", {})
        route = scope.get("route")
        action = noted.get("action") or getattr(route, "name", None) or scope["path"]
        if status < 400:
            outcome = "ok"
        else:
            kind = "refused" if status < 500 else "error"
            outcome = f"{kind} ({status}): {state.get('error', '')}".rstrip(": ")
        client = scope.get("client")
        self.log.append(
            action,
            outcome,
            user=principal.user if principal else noted.get("user"),
            role=principal.role if principal else noted.get("role"),
            client=f"{client[0]}:{client[1]}" if client else None,
            target=noted.get("target") or f"{scope['method']} {scope['path']}",
            detail=noted.get("detail"),
        )
