"""Waiting as a device, so a plan's ``wait`` follows the lab clock (fast in simulation)."""

from __future__ import annotations

import pint
from bluesky.protocols import Movable
from ophyd_async.core import AsyncStatus, StandardReadable

from devices._clock import Clock
from devices._quantity import Range


class Timer(StandardReadable, Movable[pint.Quantity | str]):
    """``bps.mv(timer, "90 s")`` completes after 90 s of lab time."""

    def __init__(self, clock: Clock, name: str = "") -> None:
        self._clock = clock
        super().__init__(name=name)

    @AsyncStatus.wrap
    async def set(self, value: pint.Quantity | str) -> None:
        seconds = Range(0.0, 7 * 24 * 3600.0, "s").check(value, device=self.name, what="duration")
        await self._clock.sleep(seconds)
