"""Accelerated simulated time: waiting is the point of a simulation, not of a test."""

from __future__ import annotations

import asyncio
import time


class SimClock:
    """Virtual seconds that pass ``speed`` times faster than wall-clock seconds.

    Virtual time is derived from the monotonic wall clock (not accumulated per sleep), so
    concurrent waits overlap exactly as they would in real time.
    """

    def __init__(self, speed: float = 100.0) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = speed
        self._wall0 = time.monotonic()

    def now(self) -> float:
        """Virtual seconds since the clock was made."""
        return (time.monotonic() - self._wall0) * self.speed

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time."""
        if seconds > 0:
            await asyncio.sleep(seconds / self.speed)
