"""Waiting as a device, so a plan's ``wait`` follows the lab clock (fast in simulation)."""

from __future__ import annotations

import asyncio
import contextlib

from bluesky.protocols import Movable, Stoppable
from ophyd_async.core import AsyncStatus, StandardReadable

from devices._clock import Clock
from devices._errors import DeviceFault
from devices._quantity import DeviceValue, Range

#: the lab-time durations a wait (or a timed action, a stir) may take: up to a week
DURATIONS = Range(0.0, 7 * 24 * 3600.0, "s")


class Timer(StandardReadable, Movable[DeviceValue], Stoppable):
    """``bps.mv(timer, "90 s")`` completes after 90 s of lab time; ``stop()`` cuts it short
    with an error, so an aborted plan does not sit out a long wait.

    Args:
        clock: lab time: the simulation's accelerated clock, or the wall.
        name: the device's name.
    """

    def __init__(self, clock: Clock, name: str = "") -> None:
        self._clock = clock
        #: each wait in progress, by the event that cuts it short (a station's next trial
        #: may wait beside the last one)
        self._waits: set[asyncio.Event] = set()
        super().__init__(name=name)

    @AsyncStatus.wrap
    async def set(self, value: DeviceValue) -> None:
        """Wait ``value`` of lab time (a bare number is seconds)."""
        seconds = DURATIONS.check(value, device=self.name, what="duration")
        stopped = asyncio.Event()
        self._waits.add(stopped)
        waiting = asyncio.ensure_future(self._clock.sleep(seconds))
        interrupt = asyncio.ensure_future(stopped.wait())
        try:
            await asyncio.wait({waiting, interrupt}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waits.discard(stopped)
            for task in (waiting, interrupt):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if stopped.is_set():
            raise DeviceFault(self.name, f"stopped before {seconds:g} s had passed")

    async def stop(self, success: bool = False) -> None:
        """End the waits in progress (each fails, so a plan does not take it for done).

        A RunEngine also stops every device its run set, with ``success=True``, when the
        run ends and on a pause: none of that run's waits is in progress then (a plan
        waits for each, and an abort cancels the one it is in), but the station's next
        trial may be waiting here, and that wait goes on.

        Args:
            success: True: a RunEngine tidying up after its run; nothing is cut short.
        """
        if success:
            return
        for stopped in self._waits:
            stopped.set()
