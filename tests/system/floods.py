"""Hostile load on a lab server, for the test and the bench that measure the emergency stop
under it: floods of logins, of approval edits with hostile quantities and of huge bodies,
and hundreds of event-stream clients, each from a thread of its own running asyncio."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

#: quantities that once froze the server (pint computed the power) or crashed it (500)
HOSTILE = ["1 (mL**9**8**8)", "1 mL**9**9**9", "1 mL/0", "1 mL*", "1 (", "1 mL**nan", "١ mL"]


class Flood:
    """Load of one kind against ``url`` until :meth:`stop`; ``answers`` counts the status
    codes it got (a flood that was never answered measured nothing).

    Args:
        url: the server.
        kind: ``logins``, ``quantities``, ``bodies`` or ``events``.
        token: a bearer token (an operator's) for the kinds that need one.
        workers: how many requests (or event clients) at once.
    """

    def __init__(self, url: str, kind: str, token: str = "", workers: int = 40) -> None:
        self.url, self.kind, self.token, self.workers = url, kind, token, workers
        self.answers: Counter[int] = Counter()
        self._stop = threading.Event()
        self._answered = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"flood:{kind}", daemon=True)

    def __enter__(self) -> Flood:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_answered(self, timeout: float = 60) -> None:
        """Block until the server has answered this flood at least once: only then is it
        at full strength (on a loaded machine its first answers can take seconds)."""
        if not self._answered.wait(timeout):
            raise TimeoutError(f"the {self.kind} flood got no answer in {timeout} s")

    def stop(self) -> None:
        """End the flood and wait for its workers."""
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        asyncio.run(self._flood())

    async def _flood(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        limits = httpx.Limits(max_connections=self.workers + 5)
        async with httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=60, limits=limits
        ) as client:
            worker: Callable[[httpx.AsyncClient, int], Coroutine[Any, Any, None]] = {
                "logins": self._logins,
                "quantities": self._quantities,
                "bodies": self._bodies,
                "events": self._events,
            }[self.kind]
            tasks = [asyncio.create_task(worker(client, n)) for n in range(self.workers)]
            await asyncio.to_thread(self._stop.wait)
            for task in tasks:  # an event client waits on its stream: stop it there
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _until_stopped(self, send: Callable[[], Coroutine[Any, Any, httpx.Response]]) -> None:
        while not self._stop.is_set():
            try:
                self.answers[(await send()).status_code] += 1
            except httpx.HTTPError:
                self.answers[0] += 1
            self._answered.set()

    async def _logins(self, client: httpx.AsyncClient, n: int) -> None:
        body = {"username": f"nobody{n % 7}", "password": "a wrong password"}
        await self._until_stopped(lambda: client.post("/api/auth/login", json=body))

    async def _quantities(self, client: httpx.AsyncClient, n: int) -> None:
        body = {"parameters": {"cyan": HOSTILE[n % len(HOSTILE)]}}
        path = "/api/campaigns/colour-match/proposals/0/approve"
        await self._until_stopped(lambda: client.post(path, json=body))

    async def _bodies(self, client: httpx.AsyncClient, n: int) -> None:
        huge = b'{"parameters": {"cyan": "' + b"9" * 5_000_000 + b'"}}'
        path = "/api/campaigns/colour-match/proposals/0/approve"
        headers = {"content-type": "application/json"}
        await self._until_stopped(lambda: client.post(path, content=huge, headers=headers))

    async def _events(self, client: httpx.AsyncClient, n: int) -> None:
        while not self._stop.is_set():
            try:
                async with client.stream("GET", "/api/events", timeout=None) as response:
                    self.answers[response.status_code] += 1
                    self._answered.set()
                    async for _ in response.aiter_lines():
                        pass
            except httpx.HTTPError:
                self.answers[0] += 1
