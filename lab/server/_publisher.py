"""One publisher of live state for every connected page and script (server-sent events).

Producers in any thread call :meth:`Publisher.publish`; the event is serialised once and
fanned out on the server's event loop to one bounded queue per client. A slow client loses
its oldest events, never slows the others. A new client first receives the latest event of
every topic, so a page is whole the moment it connects.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections.abc import AsyncIterator
from typing import Any

#: sent when nothing else was for this long, so proxies and browsers keep the stream open
KEEPALIVE_S = 15.0


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot publish {type(obj).__name__}")


def _finite(obj: Any) -> Any:
    """NaN and infinity are not JSON; a browser's JSON.parse would reject the whole event."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


class Publisher:
    """Topics: ``lab``, ``control``, ``campaign``, ``trial``, ``proposals``, ``spectrum``."""

    def __init__(self, queue_size: int = 256) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[asyncio.Queue[str]] = set()
        self._latest: dict[str, str] = {}
        self._queue_size = queue_size
        self._seq = itertools.count(1)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish on ``loop`` (the server's) from now on."""
        self._loop = loop

    @property
    def clients(self) -> int:
        """How many event-stream clients are connected."""
        return len(self._clients)

    def publish(self, topic: str, data: Any) -> None:
        """From any thread. Events published before :meth:`bind` are kept as the latest."""
        event = {"topic": topic, "seq": next(self._seq), "time": time.time(), "data": data}
        text = f"event: {topic}\ndata: {json.dumps(_finite(event), default=_json_default)}\n\n"
        if self._loop is None or self._loop.is_closed():
            self._keep(topic, text)
            return
        self._loop.call_soon_threadsafe(self._fan_out, topic, text)

    def _keep(self, topic: str, text: str) -> None:
        if topic != "trial":  # trials are many; a page reads their list once, then follows
            self._latest[topic] = text

    def _fan_out(self, topic: str, text: str) -> None:
        self._keep(topic, text)
        for queue in self._clients:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(text)

    async def stream(self) -> AsyncIterator[str]:
        """Server-sent events for one client, until it goes away."""
        queue: asyncio.Queue[str] = asyncio.Queue(self._queue_size)
        self._clients.add(queue)
        try:
            for text in list(self._latest.values()):
                yield text
            while True:
                try:
                    yield await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            self._clients.discard(queue)
