"""Login throttling: failed logins per user and per client address lock that user or
address out for a while (doubling with each lock, up to a ceiling), and password checks run
one at a time on a thread of their own, with a short queue in front. A flood of logins is
then answered 429 at once instead of taking the server's CPU, memory and threads, the
emergency stop's among them."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Throttled(Exception):
    """A login refused before its password is checked: locked out, or the server busy.

    Args:
        message: the sentence for the user.
        retry_after_s: when to try again.
    """

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, math.ceil(retry_after_s))


class LoginThrottle:
    """Counts failed logins per user name and per client address.

    Args:
        failures: how many failures within ``window_s`` lock a user out.
        client_failures: how many lock a client address out (higher: one lab PC may serve
            several people).
        window_s: the window failures are counted in.
        lock_s: the first lock's length; each further lock doubles it, up to ``max_lock_s``.
        max_lock_s: the longest lock.
        queue: how many logins may wait for the password check; more are refused as busy.
    """

    def __init__(
        self,
        failures: int = 5,
        client_failures: int = 20,
        window_s: float = 900.0,
        lock_s: float = 60.0,
        max_lock_s: float = 900.0,
        queue: int = 8,
    ) -> None:
        self.failures, self.client_failures, self.window_s = failures, client_failures, window_s
        self.lock_s, self.max_lock_s = lock_s, max_lock_s
        self._queue = queue
        self._lock = threading.Lock()
        self._failed: dict[str, deque[float]] = defaultdict(deque)
        self._locked_until: dict[str, float] = {}
        self._locks: dict[str, int] = defaultdict(int)
        self._waiting = 0
        self._checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password-check")

    def admit(self, user: str, client: str) -> None:
        """Raise :class:`Throttled` if the user or the address is locked out now."""
        now = time.monotonic()
        with self._lock:
            for key, what in ((f"user:{user}", f"user {user}"), (f"client:{client}", client)):
                until = self._locked_until.get(key, 0.0)
                if until > now:
                    raise Throttled(
                        f"too many failed logins for {what}; try again in "
                        f"{math.ceil(until - now)} s, or ask staff to lift the lock",
                        until - now,
                    )

    def failed(self, user: str, client: str) -> None:
        """Count a failed login; lock out a user or address that reached the limit."""
        now = time.monotonic()
        with self._lock:
            for key, limit in (
                (f"user:{user}", self.failures),
                (f"client:{client}", self.client_failures),
            ):
                recent = self._failed[key]
                recent.append(now)
                while recent and recent[0] < now - self.window_s:
                    recent.popleft()
                if len(recent) >= limit:
                    recent.clear()
                    self._locks[key] += 1
                    length = min(self.lock_s * 2 ** (self._locks[key] - 1), self.max_lock_s)
                    self._locked_until[key] = now + length

    def succeeded(self, user: str) -> None:
        """A right password: that user's count starts again."""
        with self._lock:
            self._failed.pop(f"user:{user}", None)
            self._locks.pop(f"user:{user}", None)

    def unlock(self, user: str) -> bool:
        """Lift a user's lock (staff); False if the user was not locked out."""
        with self._lock:
            self._failed.pop(f"user:{user}", None)
            self._locks.pop(f"user:{user}", None)
            return self._locked_until.pop(f"user:{user}", 0.0) > time.monotonic()

    def locked(self) -> dict[str, float]:
        """User or address -> seconds its lock has left."""
        now = time.monotonic()
        with self._lock:
            return {k: until - now for k, until in self._locked_until.items() if until > now}

    async def check(self, call: Callable[[], T]) -> T:
        """Run a password check on the checking thread, or raise :class:`Throttled` if too
        many are waiting already."""
        with self._lock:
            if self._waiting >= self._queue:
                raise Throttled("the server is busy with other logins; try again shortly", 2)
            self._waiting += 1
        try:
            return await asyncio.wrap_future(self._checks.submit(call))
        finally:
            with self._lock:
                self._waiting -= 1
