"""A real web server on loopback that takes webhooks, for the notification tests: it keeps
what each POST brought and when, and can be told to refuse (an HTTP status) or to hang."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    time: float


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200
    hang_s: float = 0.0

    def bodies(self, path: str | None = None) -> list[Any]:
        return [r.body for r in self.received if path is None or r.path == path]

    def wait_for(self, count: int, timeout_s: float = 10.0, path: str | None = None) -> list[Any]:
        """The bodies once at least ``count`` have come (AssertionError after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while len(self.bodies(path)) < count:
            assert time.monotonic() < deadline, f"{len(self.bodies(path))} of {count} webhooks came"
            time.sleep(0.02)
        return self.bodies(path)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A receiver at ``http://127.0.0.1:PORT``; any path."""
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # connections kept alive, as a real web server does

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            raw = self.rfile.read(length)
            if receiver.hang_s:
                time.sleep(receiver.hang_s)
            if receiver.status < 300:
                receiver.received.append(
                    Received(self.path, dict(self.headers), json.loads(raw or b"null"), time.time())
                )
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # 20 channels connecting at once: none waits for a SYN retry

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
