"""One publisher of live state for every connected page and script (server-sent events).

Producers in any thread call :meth:`Publisher.publish`; the event is serialised once and
fanned out on the server's event loop to one bounded queue per client. A slow client loses
its oldest events, never slows the others. A new client first receives the latest event of
every topic, so a page is whole the moment it connects. Every event carries an ``id:``; a
client that reconnects with ``Last-Event-ID`` (browsers do by themselves) gets the events
it missed, from a bounded history, or the latest of every topic if it missed more.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
from collections import deque
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
    """Topics: ``lab``, ``control``, ``campaign``, ``trial``, ``proposals``, ``spectrum``.

    Args:
        queue_size: events a slow client may fall behind before it loses the oldest.
        history: events kept for clients that reconnect with ``Last-Event-ID``.
    """

    def __init__(self, queue_size: int = 256, history: int = 1024) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[asyncio.Queue[str]] = set()
        self._latest: dict[str, str] = {}
        self._history: deque[tuple[int, str]] = deque(maxlen=history)
        self._queue_size = queue_size
        self._seq = itertools.count(1)
        #: numbers and hands over events in one order, whichever thread publishes
        self._order = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish on ``loop`` (the server's) from now on."""
        self._loop = loop

    @property
    def clients(self) -> int:
        """How many event-stream clients are connected."""
        return len(self._clients)

    def publish(self, topic: str, data: Any) -> None:
        """From any thread. Events published before :meth:`bind` are kept as the latest."""
        payload = _finite({"topic": topic, "time": time.time(), "data": data})
        with self._order:
            seq = next(self._seq)
            payload["seq"] = seq
            text = (
                f"id: {seq}\nevent: {topic}\ndata: {json.dumps(payload, default=_json_default)}\n\n"
            )
            if self._loop is None or self._loop.is_closed():
                self._keep(seq, topic, text)
                return
            self._loop.call_soon_threadsafe(self._fan_out, seq, topic, text)

    def _keep(self, seq: int, topic: str, text: str) -> None:
        self._history.append((seq, text))
        if topic != "trial":  # trials are many; a page reads their list once, then follows
            self._latest[topic] = text

    def _fan_out(self, seq: int, topic: str, text: str) -> None:
        self._keep(seq, topic, text)
        for queue in self._clients:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(text)

    def _catch_up(self, last_event_id: int | None) -> list[str]:
        """What a client that saw up to ``last_event_id`` missed; the latest of every topic
        if it is new, or missed more than the history holds."""
        history = self._history
        if last_event_id is not None and history and history[0][0] <= last_event_id + 1:
            return [text for seq, text in history if seq > last_event_id]
        return list(self._latest.values())

    async def stream(self, last_event_id: int | None = None) -> AsyncIterator[str]:
        """Server-sent events for one client, until it goes away.

        Args:
            last_event_id: the ``id`` of the last event the client received (its
                ``Last-Event-ID`` header on a reconnect), if any.
        """
        queue: asyncio.Queue[str] = asyncio.Queue(self._queue_size)
        self._clients.add(queue)
        try:
            for text in self._catch_up(last_event_id):
                yield text
            while True:
                try:
                    yield await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            self._clients.discard(queue)
