"""Request bodies bounded before anything reads them.

Every body the API takes is a small JSON object (a login, a start, an approval edit, a plan
by hand), so a body of megabytes is an attack or a mistake: it is refused (413) before it
is read whole, and never reaches a parser, the audit log or a worker thread. A body that
starts with a byte-order mark is refused too (422): JSON sent over HTTP is plain UTF-8,
and text that only some readers accept is text two readers may read differently.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the largest body any endpoint needs, with room to spare
MAX_BODY_BYTES = 64 * 1024
_BOM = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class BodyLimit:
    """Reads each request body up to ``max_bytes`` and hands it on whole, or refuses it.

    Args:
        app: the application behind it.
        max_bytes: the largest body accepted.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is larger than {self.max_bytes // 1024} kB"
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await _refuse(scope, send, 413, too_large)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(scope, send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.startswith(_BOM):
            await _refuse(
                scope, send, 422, "the body starts with a byte-order mark; send plain UTF-8 JSON"
            )
            return
        replayed = False

        async def whole() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, whole, send)


async def _refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    """Answer as the API's error handlers do, and leave the reason for the audit log."""
    scope.setdefault("state", {})["error"] = detail
    payload = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
