"""A synthesis station (pumps, heater, stirrer) as ophyd-async devices.

Each part is its own movable child, so a plan says ``bps.mv(station.heater, "60 degC")``
(or ``60``: a bare number is in the unit the part declares). Limits live on the parts and
are checked before any command is sent.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bluesky.protocols import Movable, Stoppable, Triggerable
from ophyd_async.core import AsyncStatus, DeviceVector, SignalR, StandardReadable
from ophyd_async.core import StandardReadableFormat as Format

from devices._clock import Clock
from devices._errors import DeviceError, DeviceFault, LimitViolation, UnsafeState
from devices._instrument import InputState, InstrumentDevice, read_afresh, read_back
from devices._quantity import DeviceValue, Range, magnitude
from devices.synthesis_station._driver import StationDriver


class Pump(StandardReadable, Movable[DeviceValue]):
    """``set(volume)`` dispenses that volume of the pump's reagent into the vial in the slot."""

    def __init__(
        self, driver: StationDriver, index: int, reagent: str, rate: Range, name: str = ""
    ) -> None:
        self._driver = driver
        self.index = index
        self.reagent = reagent
        self.rate_range = rate
        self.rate_ml_min = rate.high
        with self.add_children_as_readables():
            self.level = read_back(float, self._level, "mL")
        super().__init__(name=name)

    async def _level(self) -> float:
        return await self._driver.level(self.index)

    async def refresh(self) -> None:
        """Read the reservoir level afresh."""
        await read_afresh(self.level)

    @AsyncStatus.wrap
    async def set(self, value: DeviceValue, rate: DeviceValue | None = None) -> None:
        """Dispense ``value`` (a bare number is mL) at ``rate`` (default: the highest allowed); refused beyond the reservoir or the rate limits."""
        volume = Range(0.0, float("inf"), "mL").check(value, device=self.name, what="volume")
        ml_min = self.rate_ml_min
        if rate is not None:
            ml_min = self.rate_range.check(rate, device=self.name, what="dispense rate")
        level = await self._driver.level(self.index)
        if volume > level + 1e-9:
            raise LimitViolation(
                self.name, f"needs {volume:g} mL of {self.reagent}, reservoir holds {level:g} mL"
            )
        try:
            await self._driver.dispense(self.index, volume, ml_min)
        finally:
            await self.refresh()


#: real time within which a station's temperature reading is fresh, whatever its transport
FRESH_READING_S = 0.2


class Heater(StandardReadable, Movable[DeviceValue], Stoppable, Triggerable):
    """``set(T)`` changes the setpoint and completes when the block has settled there;
    ``stop()`` ends the wait (the RunEngine calls it on pause, abort and emergency stop).
    ``trigger()`` reads the block's temperature afresh, so a staged heater (``bp.scan``
    stages what it reads) reports the temperature of now, not that of its last read."""

    def __init__(
        self,
        driver: StationDriver,
        clock: Clock,
        limits: Range,
        tolerance_c: float = 0.5,
        settle_timeout_s: float = 3600.0,
        name: str = "",
    ) -> None:
        self._driver = driver
        self._clock = clock
        self.limits = limits
        self.tolerance_c = tolerance_c
        self.settle_timeout_s = settle_timeout_s
        self._stopped = asyncio.Event()
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.temperature = read_back(float, driver.temperature, "degC")
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.setpoint = read_back(float, driver.setpoint, "degC")
        super().__init__(name=name)

    async def refresh(self) -> None:
        """Read the temperature and setpoint afresh."""
        await read_afresh(self.temperature, self.setpoint)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Read the temperature afresh."""
        await read_afresh(self.temperature)

    @AsyncStatus.wrap
    async def set(self, value: DeviceValue) -> None:
        """Set the temperature (a bare number is degC) and wait until the block settles there."""
        target = self.limits.check(value, device=self.name, what="temperature")
        self._stopped = asyncio.Event()
        await self._driver.set_temperature(target)
        start = self._clock.now()
        while abs(await self._driver.temperature() - target) > self.tolerance_c:
            if self._stopped.is_set():
                raise DeviceFault(self.name, f"stopped before settling at {target:g} degC")
            if self._clock.now() - start > self.settle_timeout_s:
                raise DeviceFault(
                    self.name,
                    f"did not reach {target:g} degC within {self.settle_timeout_s:g} s"
                    + _clock_hint(self._clock, self.settle_timeout_s),
                )
            await self._clock.sleep(2.0)

    async def stop(self, success: bool = True) -> None:
        """End a settling wait in progress (it fails)."""
        self._stopped.set()

    async def confirm_cooling(self, ambient_c: float, window_s: float) -> None:
        """With the setpoint at ``ambient_c``, the block must not be getting hotter: read
        its temperature over ``window_s`` of lab time and raise :class:`UnsafeState` if it
        rose (a heater stuck on reads its setpoint back as set, so only the temperature
        tells, and a block at ambient now may be on its way up)."""
        before = await self._driver.temperature()
        started, lab_started = time.monotonic(), self._clock.now()
        await self._clock.sleep(window_s)
        # a temperature may arrive by subscription: give the wire time for a fresh one
        await asyncio.sleep(max(0.0, FRESH_READING_S - (time.monotonic() - started)))
        after = await self._driver.temperature()
        if after > before + self.tolerance_c and after > ambient_c + self.tolerance_c:
            raise UnsafeState(
                self.name,
                f"LEFT UNSAFE: the block rose from {before:.1f} to {after:.1f} degC in "
                f"{self._clock.now() - lab_started:.0f} s with the heater set to "
                f"{ambient_c:g} degC: the heater may be stuck on; cut its power",
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


class Stirrer(StandardReadable, Movable[DeviceValue], Triggerable):
    """``set(rpm)`` within the limits (0 is always allowed); ``trigger()`` reads it afresh."""

    def __init__(self, driver: StationDriver, limits: Range, name: str = "") -> None:
        self._driver = driver
        self.limits = limits
        with self.add_children_as_readables():
            self.speed = read_back(float, driver.stir, "rpm")
        super().__init__(name=name)

    async def refresh(self) -> None:
        """Read the speed afresh."""
        await read_afresh(self.speed)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Read the speed afresh."""
        await self.refresh()

    @AsyncStatus.wrap
    async def set(self, value: DeviceValue) -> None:
        """Set the speed (a bare number is rpm); 0 is always allowed, anything else within the limits."""
        rpm = magnitude(value, "rpm", device=self.name, what="stir speed")
        if rpm != 0:  # off is always allowed
            self.limits.check(value, device=self.name, what="stir speed")
        await self._driver.set_stir(rpm)
        await self.refresh()


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
        self.driver = driver
        self.vial_capacity = vial_capacity
        self.ambient_c = ambient_c
        self.stop_patience_s = stop_patience_s
        with self.add_children_as_readables():
            self.pumps = DeviceVector(
                {i: Pump(driver, i, reagent, dispense_rate) for i, reagent in reagents.items()}
            )
            self.heater = Heater(driver, clock, temperature)
            self.stirrer = Stirrer(driver, stir_speed)
            self.vial = read_back(str, self._vial_id)
            self.vial_volume = read_back(float, self._vial_volume, "mL")
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.door_open = read_back(bool, self._interlock("door_open"))
            self.leak = read_back(bool, self._interlock("leak"))
        super().__init__(name=name)

    def _interlock(self, name: str) -> Callable[[], Awaitable[bool]]:
        async def read() -> bool:
            return (await self.driver.interlocks())[name].on

        return read

    def live_signals(self) -> dict[str, SignalR[Any]]:
        """The interlock inputs and the block's temperature: the driver reads them on the
        station's real-time path (``SENSE`` on a line, a subscription on OPC UA)."""
        return {
            "door_open": self.door_open,
            "leak": self.leak,
            "heater.temperature": self.heater.temperature,
        }

    async def latched_inputs(self) -> dict[str, InputState]:
        """The door and leak inputs, with the rising edges the station latched on each."""
        return await self.driver.interlocks()

    @property
    def reagents(self) -> dict[str, Pump]:
        """Reagent -> its pump."""
        return {pump.reagent: pump for pump in self.pumps.values()}

    async def _on_connect(self) -> None:
        wired = await self.driver.pumps()
        for i, pump in self.pumps.items():
            if wired.get(i) != pump.reagent:
                raise DeviceFault(
                    self.name,
                    f"pump {i} is configured for {pump.reagent!r} but the station reports "
                    f"{wired.get(i)!r}",
                )
        await self.refresh()

    async def _vial_id(self) -> str:
        vial = await self.driver.vial()
        return vial[0] if vial else ""

    async def _vial_volume(self) -> float:
        vial = await self.driver.vial()
        return vial[1] if vial else 0.0

    async def refresh(self) -> None:
        """Read every signal afresh."""
        await read_afresh(self.vial, self.vial_volume)
        await self.heater.refresh()
        await self.stirrer.refresh()
        for pump in self.pumps.values():
            await pump.refresh()

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
                await self.driver.stop()
            except DeviceError as err:  # read back anyway: it may be safe already
                last = err
            try:
                rpm, setpoint = await self.driver.stir(), await self.driver.setpoint()
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
