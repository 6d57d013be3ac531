"""A heated block that holds one vial, whatever control system runs it (EPICS, SiLA 2):
a movable heater (setpoint and readback signals, the settling logic), a vial sensor, and
a safe state that sends the setpoint to ambient. Each control system supplies the
signals; the heat step heats the vial standing in the block like the station's slot."""

from __future__ import annotations

import asyncio
from functools import cached_property
from typing import Any

from ophyd_async.core import SignalR, SignalRW
from ophyd_async.core import StandardReadableFormat as Format

from devices._clock import Clock
from devices._errors import UnsafeState
from devices._instrument import InstrumentDevice, InstrumentDriver
from devices._movable import InstrumentMovable, RangeMove
from devices._quantity import Range


class BlockHeater(InstrumentMovable[float]):
    """``bps.mv(block.heater, 60)`` writes the setpoint and completes once the temperature
    has settled there; ``bps.rd(block.heater)`` is the block's temperature.

    Args:
        setpoint: the temperature it is told (degC).
        temperature: the block's temperature (degC).
        clock: lab time: a settling wait counts on it.
        limits: the temperatures it may be set to (refused before anything is sent).
        tolerance_c: how close the block must come to be settled.
        settle_timeout_s: how long (lab time) it may take to settle.
    """

    shared = True  # a vial of any station's trial may stand in the block

    def __init__(
        self,
        setpoint: SignalRW[float],
        temperature: SignalR[float],
        clock: Clock,
        limits: Range,
        tolerance_c: float = 0.5,
        settle_timeout_s: float = 3600.0,
        name: str = "",
    ) -> None:
        self._clock = clock
        self.limits = limits
        self.tolerance_c = tolerance_c
        self.settle_timeout_s = settle_timeout_s
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.temperature = temperature
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.setpoint = setpoint
        super().__init__(name=name)

    @cached_property
    def movable_logic(self) -> RangeMove:
        """Within the limits; settled within ``tolerance_c``, in ``settle_timeout_s`` of lab time."""
        return RangeMove(
            self.setpoint,
            self.temperature,
            limits=self.limits,
            what="temperature",
            tolerance=self.tolerance_c,
            patience=lambda: self._clock.sleep(self.settle_timeout_s),
            why_slow=lambda: (
                f"within {self.settle_timeout_s:g} s"
                + _clock_hint(self._clock, self.settle_timeout_s)
            ),
        )


def _clock_hint(clock: Clock, seconds: float) -> str:
    """Say so when a wait was counted on an accelerated (simulated) clock."""
    speed = getattr(clock, "speed", 1.0)
    if speed == 1.0:
        return ""
    return (
        f" of lab time: the clock runs {speed:g}x, so that was {seconds / speed:.3g} s of real "
        "time; if the simulated instrument cannot keep up, lower simulation.clock_speed in the lab file"
    )


class HeatingBlock(InstrumentDevice):
    """A heated block holding one vial: ``heater`` is movable, ``occupied`` its vial
    sensor; ``stop()`` is its safe state (heater to ambient, read back).

    Args:
        driver: identity, state and emergency stop of the instrument.
        heater: its heater.
        occupied: a vial stands in it.
        ambient_c: the setpoint of its safe state.
        timeout_s: how long (real seconds) the safe state may take to be confirmed.
        name: the device's name.
    """

    def __init__(
        self,
        driver: InstrumentDriver,
        heater: BlockHeater,
        occupied: SignalR[bool],
        ambient_c: float = 25.0,
        timeout_s: float = 5.0,
        name: str = "",
    ) -> None:
        self.ambient_c = ambient_c
        self.timeout_s = timeout_s
        with self.add_children_as_readables():
            self.heater = heater
            self.occupied = occupied
        super().__init__(driver, name=name)

    def live_signals(self) -> dict[str, SignalR[Any]]:
        """Its temperature and vial sensor: read on their own, never behind a move in
        progress, so either may be an interlock."""
        return {"heater.temperature": self.heater.temperature, "occupied": self.occupied}

    async def stop(self, success: bool = True) -> None:
        """Safe state: the setpoint back to ambient, read back to be sure (the block then
        cools at its own pace)."""
        try:
            await self.heater.setpoint.set(self.ambient_c, timeout=self.timeout_s)
            told = await asyncio.wait_for(
                self.heater.setpoint.get_value(cached=False), self.timeout_s
            )
        except Exception as err:  # each control system raises its own when it is gone
            raise UnsafeState(
                self.name,
                f"LEFT UNSAFE: its setpoint could not be set to {self.ambient_c:g} degC "
                f"({type(err).__name__}: {err or 'no answer'}); {self.driver.link}",
                "stop",
            ) from None
        if abs(told - self.ambient_c) > 0.5:
            raise UnsafeState(
                self.name,
                f"LEFT UNSAFE: its setpoint reads {told:g} degC after it was set to "
                f"{self.ambient_c:g} degC",
                "stop",
            )
