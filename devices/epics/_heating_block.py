"""A heated vial block whose controller is an EPICS IOC: the block heats the vial that
stands in it, as the station's own block heats the vial in its slot."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ophyd_async.core import SignalR
from ophyd_async.core import StandardReadableFormat as Format
from ophyd_async.epics.core import epics_signal_r, epics_signal_rw

from devices._clock import Clock
from devices._errors import UnsafeState
from devices._instrument import InstrumentDevice
from devices._movable import InstrumentMovable, RangeMove
from devices._quantity import Range
from devices._signals import with_units
from devices.epics._driver import EpicsDriver


@dataclass(frozen=True)
class BlockPvs:
    """The process variables of a heating block, each a full address
    (``ca://LAB:HB1:SP``).

    Args:
        setpoint: the temperature it is told (degC).
        temperature: the block's temperature (degC), with its alarm severity.
        ramp: how fast it goes there (K/min).
        identity: ``maker,model,serial,firmware``.
        estop: the emergency stop, latched (1) until reset (0).
        occupied: a vial stands in the block (its presence sensor).
    """

    setpoint: str
    temperature: str
    ramp: str
    identity: str
    estop: str
    occupied: str


class EpicsHeater(InstrumentMovable[float]):
    """``bps.mv(block.heater, 60)`` writes the setpoint PV and completes once the
    temperature PV has settled there; ``bps.rd(block.heater)`` is the block's
    temperature.

    Args:
        pvs: the block's process variables.
        clock: lab time: a settling wait counts on it.
        limits: the temperatures it may be set to (refused before a PV is written).
        tolerance_c: how close the block must come to be settled.
        settle_timeout_s: how long (lab time) it may take to settle.
    """

    def __init__(
        self,
        pvs: BlockPvs,
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
            self.temperature = with_units(epics_signal_r(float, pvs.temperature), "degC")
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.setpoint = with_units(epics_signal_rw(float, pvs.setpoint), "degC")
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
            why_slow=lambda: f"within {self.settle_timeout_s:g} s (is its ramp rate too low?)",
        )


class EpicsHeatingBlock(InstrumentDevice):
    """A heated block that holds one vial, on an EPICS IOC: ``heater`` is movable,
    ``ramp_rate`` a setting, ``occupied`` its vial sensor; ``stop()`` is its safe state
    (heater to ambient, read back). The lab's emergency stop latches its stop PV.

    Args:
        driver: identity, state and emergency stop over the IOC's PVs.
        pvs: the block's process variables.
        clock: lab time.
        limits: the temperatures it may be set to.
        ambient_c: the setpoint of its safe state.
        tolerance_c: how close the block must come to be settled.
        settle_timeout_s: how long (lab time) settling may take.
        name: the device's name.
    """

    driver: EpicsDriver

    def __init__(
        self,
        driver: EpicsDriver,
        pvs: BlockPvs,
        clock: Clock,
        limits: Range,
        ambient_c: float = 25.0,
        tolerance_c: float = 0.5,
        settle_timeout_s: float = 3600.0,
        name: str = "",
    ) -> None:
        self.ambient_c = ambient_c
        with self.add_children_as_readables():
            self.heater = EpicsHeater(pvs, clock, limits, tolerance_c, settle_timeout_s)
            self.occupied = epics_signal_r(bool, pvs.occupied)
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.ramp_rate = with_units(epics_signal_rw(float, pvs.ramp), "K/min")
        self.identity_text = epics_signal_r(str, pvs.identity)
        self.estop = epics_signal_rw(bool, pvs.estop)
        driver.attach(self.identity_text, self.estop, [self.heater.temperature])
        super().__init__(driver, name=name)

    def live_signals(self) -> dict[str, SignalR[Any]]:
        """Its temperature and vial sensor: monitored PVs, never blocked by a move in
        progress, so either may be an interlock."""
        return {"heater.temperature": self.heater.temperature, "occupied": self.occupied}

    async def stop(self, success: bool = True) -> None:
        """Safe state: the setpoint back to ambient, read back to be sure (the block then
        cools at its own pace)."""
        try:
            await self.heater.setpoint.set(self.ambient_c, timeout=self.driver.timeout)
            told = await asyncio.wait_for(
                self.heater.setpoint.get_value(cached=False), self.driver.timeout
            )
        except Exception as err:  # a PV that does not answer: CA and PVA raise their own
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
