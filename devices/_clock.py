"""Where devices get time from, so a simulation can run faster than the wall clock."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Where time comes from: ``now()`` in seconds and ``sleep()``; a simulation's clock runs faster than the wall."""

    def now(self) -> float:
        """Seconds on this clock."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class WallClock:
    """Real time, for real instruments."""

    speed = 1.0

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time."""
        await asyncio.sleep(max(seconds, 0.0))
