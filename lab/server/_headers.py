"""Security headers on every answer of the lab server, pages and API alike.

Everything the pages load comes from this server (plotly and Swagger UI included), so the policy allows
only this origin: no inline or remote script, no framing by another site. Plotly adds
style elements of its own, hence inline styles; Swagger UI's page starts itself with one
inline script, so ``/docs`` alone allows that.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_POLICY = (
    "default-src 'self'; script-src 'self'{docs}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds a content security policy and the usual hardening headers to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        page = _POLICY.format(docs="").encode()
        docs = _POLICY.format(docs=" 'unsafe-inline'").encode()
        self._policies = {"page": page, "docs": docs}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self._policies["docs" if scope["path"] == "/docs" else "page"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"content-security-policy", policy),
                    *_HEADERS,
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
