"""A synthesis station (pumps, heater, stirrer) as ophyd-async devices.

Each part is its own movable child, so a plan says ``bps.mv(station.heater, "60 degC")``
(or ``60``: a bare number is in the unit the part declares). Limits live on the parts and
are checked before any command is sent.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from bluesky.protocols import Movable, Stoppable
from ophyd_async.core import AsyncStatus, DeviceVector, SignalR, StandardReadable, soft_signal_rw
from ophyd_async.core import StandardReadableFormat as Format

from devices._block import BlockHeater
from devices._clock import Clock
from devices._errors import DeviceError, DeviceFault, LimitViolation, UnsafeState
from devices._instrument import InputState, InstrumentDevice
from devices._movable import InstrumentMovable, RangeMove
from devices._quantity import DeviceValue, Range
from devices._signals import (
    SharedQuery,
    instrument_action,
    instrument_command,
    instrument_r,
    instrument_rw,
    with_units,
)
from devices.synthesis_station._driver import StationDriver


class Pump(StandardReadable, Movable[DeviceValue]):
    """``set(volume)`` dispenses that volume of the pump's reagent into the vial in the
    slot (a bare number is mL); ``pump.dispense`` is the instrument's command itself.

    Args:
        driver: the station's codec.
        index: the pump's number on the station.
        reagent: what its reservoir holds.
        rate: the dispense rates allowed; the highest is the default.
    """

    def __init__(
        self, driver: StationDriver, index: int, reagent: str, rate: Range, name: str = ""
    ) -> None:
        self.index = index
        self.reagent = reagent
        self.rate_range = rate
        self.rate_ml_min = rate.high
        with self.add_children_as_readables():
            self.level = instrument_r(
                float, lambda: driver.level(index), "mL", f"pump {index} level"
            )

        async def dispense(volume_ml: float, rate_ml_min: float) -> None:
            await driver.dispense(index, volume_ml, rate_ml_min)

        self.dispense = instrument_command(dispense, f"pump {index} dispense")
        super().__init__(name=name)

    @AsyncStatus.wrap
    async def set(self, value: DeviceValue, rate: DeviceValue | None = None) -> None:
        """Dispense ``value`` (a bare number is mL) at ``rate`` (default: the highest allowed); refused beyond the reservoir or the rate limits."""
        volume = Range(0.0, float("inf"), "mL").check(value, device=self.name, what="volume")
        ml_min = self.rate_ml_min
        if rate is not None:
            ml_min = self.rate_range.check(rate, device=self.name, what="dispense rate")
        level = await self.level.get_value()
        if volume > level + 1e-9:
            raise LimitViolation(
                self.name, f"needs {volume:g} mL of {self.reagent}, reservoir holds {level:g} mL"
            )
        await self.dispense.execute(volume, ml_min)


#: real time within which a station's temperature reading is fresh, whatever its transport
FRESH_READING_S = 0.2


class Heater(BlockHeater):
    """``bps.mv(station.heater, 60)`` sets the setpoint and completes when the block has
    settled there (``bps.rd(station.heater)`` is the block's temperature,
    ``bps.rd(station.heater.setpoint)`` what it was set to); ``stop()`` ends the wait
    (the RunEngine calls it on pause, abort and emergency stop).

    Args:
        driver: the station's codec.
        clock: lab time: a settling wait counts on it.
        limits: the temperatures it may be set to.
        tolerance_c: how close the block must come to be settled.
        settle_timeout_s: how long (lab time) it may take to settle.
    """

    #: the station's trials: the next one's beside the last one's tail (its vial measured
    #: elsewhere), each from its own RunEngine
    shared = True

    def __init__(
        self,
        driver: StationDriver,
        clock: Clock,
        limits: Range,
        tolerance_c: float = 0.5,
        settle_timeout_s: float = 3600.0,
        name: str = "",
    ) -> None:
        super().__init__(
            instrument_rw(
                float, driver.setpoint, driver.set_temperature, "degC", "heater setpoint"
            ),
            instrument_r(float, driver.temperature, "degC", "block temperature"),
            clock,
            limits,
            tolerance_c,
            settle_timeout_s,
            name=name,
        )

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Read the temperature afresh, so a staged heater (``bp.scan`` stages what it
        reads) reports the temperature of now, not that of its last read."""
        await self.temperature.get_value(cached=False)

    async def confirm_cooling(self, ambient_c: float, window_s: float) -> None:
        """With the setpoint at ``ambient_c``, the block must not be getting hotter: read
        its temperature over ``window_s`` of lab time and raise :class:`UnsafeState` if it
        rose (a heater stuck on reads its setpoint back as set, so only the temperature
        tells, and a block at ambient now may be on its way up)."""
        before = await self.temperature.get_value(cached=False)
        started, lab_started = time.monotonic(), self._clock.now()
        await self._clock.sleep(window_s)
        # a temperature may arrive by subscription: give the wire time for a fresh one
        await asyncio.sleep(max(0.0, FRESH_READING_S - (time.monotonic() - started)))
        after = await self.temperature.get_value(cached=False)
        if after > before + self.tolerance_c and after > ambient_c + self.tolerance_c:
            raise UnsafeState(
                self.name,
                f"LEFT UNSAFE: the block rose from {before:.1f} to {after:.1f} degC in "
                f"{self._clock.now() - lab_started:.0f} s with the heater set to "
                f"{ambient_c:g} degC: the heater may be stuck on; cut its power",
            )


class Stirrer(InstrumentMovable[float]):
    """``bps.mv(station.stirrer, 300)`` within the limits (0, off, is always allowed);
    the station reads back the speed it was set to at once. With ``run_time`` set (s; 0:
    until told), the station's own timer stops the stirrer then: the vial is stirred
    exactly that long, however late the command to stop comes.

    Args:
        driver: the station's codec.
        limits: the speeds it may be set to, besides 0.
    """

    shared = True  # as the heater

    def __init__(self, driver: StationDriver, limits: Range, name: str = "") -> None:
        self.limits = limits
        self._driver = driver
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.speed = instrument_r(float, driver.stir, "rpm", "stir speed")
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.setpoint = instrument_rw(
                float, driver.stir, self._set_speed, "rpm", "stir speed setpoint"
            )
            self.run_time = with_units(soft_signal_rw(float, 0.0, units="s"), "s")
        super().__init__(name=name)

    async def _set_speed(self, rpm: float) -> None:
        seconds = await self.run_time.get_value()
        if rpm and seconds > 0:
            await self._driver.stir_for(rpm, seconds)
        else:
            await self._driver.set_stir(rpm)

    @cached_property
    def movable_logic(self) -> RangeMove:
        """Within the limits, or 0; done once the station has it."""
        return RangeMove(
            self.setpoint,
            self.speed,
            limits=self.limits,
            what="stir speed",
            allowed=frozenset({0.0}),
        )

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Read the speed afresh."""
        await self.speed.get_value(cached=False)


class SynthesisStation(InstrumentDevice, Stoppable):
    """Pumps (one per reagent), a heater and a stirrer around one vial slot.

    Args:
        driver: the codec of the station's protocol (ASCII or OPC UA).
        clock: where the heater's settling wait takes its time from.
        reagents: pump number -> reagent it holds; checked against the station at connect.
        vial_capacity: the vial's limit (checked before any command is sent, as are the
            three below).
        temperature: the heater's range.
        stir_speed: the stirrer's range.
        dispense_rate: the pumps' range.
        ambient_c: the heater setpoint of the safe state, which ``stop()`` reads back.
        stop_patience_s: how long (real seconds) ``stop()`` keeps trying, through
            reconnects, before it reports the station unsafe.
    """

    driver: StationDriver

    def __init__(
        self,
        driver: StationDriver,
        clock: Clock,
        reagents: Mapping[int, str],
        vial_capacity: Range,
        temperature: Range,
        stir_speed: Range,
        dispense_rate: Range,
        ambient_c: float = 25.0,
        stop_patience_s: float = 10.0,
        name: str = "",
    ) -> None:
        self.vial_capacity = vial_capacity
        self.ambient_c = ambient_c
        self.stop_patience_s = stop_patience_s
        vial = SharedQuery(driver.vial)
        locks = SharedQuery(driver.interlocks)
        with self.add_children_as_readables():
            self.pumps = DeviceVector(
                {i: Pump(driver, i, reagent, dispense_rate) for i, reagent in reagents.items()}
            )
            self.heater = Heater(driver, clock, temperature)
            self.stirrer = Stirrer(driver, stir_speed)
            self.vial = instrument_r(str, vial.field(lambda v: v[0] if v else ""), source="VIAL?")
            self.vial_volume = instrument_r(
                float, vial.field(lambda v: v[1] if v else 0.0), "mL", "VIAL?"
            )
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.door_open = instrument_r(
                bool, locks.field(lambda i: i["door_open"].on), source="door input"
            )
            self.leak = instrument_r(bool, locks.field(lambda i: i["leak"].on), source="leak input")
        self.safe_state = instrument_action(driver.stop, "STOP")
        super().__init__(driver, name=name)

    def live_signals(self) -> dict[str, SignalR[Any]]:
        """The interlock inputs and the block's temperature: the driver reads them on the
        station's real-time path (``SENSE`` on a line, a subscription on OPC UA)."""
        return {
            "door_open": self.door_open,
            "leak": self.leak,
            "heater.temperature": self.heater.temperature,
        }

    def reading_names(self) -> dict[str, str]:
        """A pump's level is read by its reagent: ``cyan level``, not ``pumps.1.level``."""
        names = super().reading_names()
        for pump in self.pumps.values():
            names[pump.level.name] = f"{pump.reagent} level"
        return names

    async def latched_inputs(self) -> dict[str, InputState]:
        """The door and leak inputs, with the rising edges the station latched on each."""
        return await self.driver.interlocks()

    @property
    def reagents(self) -> dict[str, Pump]:
        """Reagent -> its pump."""
        return {pump.reagent: pump for pump in self.pumps.values()}

    async def check_instrument(self) -> None:
        """Each pump holds the reagent the lab file says."""
        wired = await self.driver.pumps()
        for i, pump in self.pumps.items():
            if wired.get(i) != pump.reagent:
                raise DeviceFault(
                    self.name,
                    f"pump {i} is configured for {pump.reagent!r} but the station reports "
                    f"{wired.get(i)!r}",
                )

    def pump_for(self, reagent: str) -> Pump:
        """The pump that holds ``reagent``; ``LimitViolation`` if none does."""
        try:
            return self.reagents[reagent]
        except KeyError:
            raise LimitViolation(
                self.name, f"no pump for reagent {reagent!r}; pumps hold {sorted(self.reagents)}"
            ) from None

    async def stop(self, success: bool = True) -> None:
        """Safe state: stirrer off, heater set back to ambient, and read back to be sure.

        A station that cannot be reached or refuses is asked again (its transport
        reconnects meanwhile); if it still is not safe, the error says the station is
        LEFT UNSAFE, with what it last reported, so nobody takes it for safe.
        """
        last: Exception | None = None
        deadline = time.monotonic() + self.stop_patience_s
        for attempt in itertools.count():
            if attempt:
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(min(0.25 * 2 ** (attempt - 1), 1.0))  # wall time
            try:
                await self.safe_state.trigger()
            except DeviceError as err:  # read back anyway: it may be safe already
                last = err
            try:
                rpm = await self.stirrer.setpoint.get_value(cached=False)
                setpoint = await self.heater.setpoint.get_value(cached=False)
            except DeviceError as err:
                last = err
                continue
            if rpm == 0 and abs(setpoint - self.ambient_c) <= 0.5:
                return
            last = DeviceFault(
                self.name,
                f"after Stop{f' ({last.message})' if isinstance(last, DeviceError) else ''}: "
                f"stirrer {rpm:g} rpm, heater setpoint {setpoint:g} degC",
            )
        raise UnsafeState(
            self.name,
            f"LEFT UNSAFE: the safe state (stirrer off, heater to {self.ambient_c:g} degC) was "
            f"not confirmed in {self.stop_patience_s:g} s of trying; last: {last}",
            "Stop",
        )
