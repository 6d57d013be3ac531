"""A UV-Vis spectrometer as an ophyd-async detector-like readable."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from bluesky.protocols import Triggerable
from ophyd_async.core import Array1D, AsyncStatus, SignalR, soft_signal_r_and_setter
from ophyd_async.core import StandardReadableFormat as Format

from devices._instrument import InstrumentDevice
from devices._movable import InstrumentMovable, RangeMove
from devices._quantity import Range
from devices._signals import instrument_action, instrument_r, instrument_rw
from devices.spectrometer._driver import SpectrometerDriver


class IntegrationTime(InstrumentMovable[float]):
    """``bps.mv(spectrometer.integration, "100 ms")``, refused outside the detector's range."""

    shared = True  # every station's runs measure with it

    def __init__(self, driver: SpectrometerDriver, limits: Range, name: str = "") -> None:
        self.limits = limits
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.time = instrument_r(float, driver.integration, "ms", "INT?")
        self.setpoint = instrument_rw(
            float, driver.integration, driver.set_integration, "ms", "INT"
        )
        super().__init__(name=name)

    @cached_property
    def movable_logic(self) -> RangeMove:
        """Within the detector's range; done once the detector has it."""
        return RangeMove(self.setpoint, self.time, limits=self.limits, what="integration time")


class Spectrometer(InstrumentDevice, Triggerable):
    """``trigger()`` acquires one absorbance spectrum of the sample in the holder.

    Args:
        driver: the codec of the spectrometer's protocol.
        integration: the detector's range of integration times.
    """

    driver: SpectrometerDriver

    def __init__(self, driver: SpectrometerDriver, integration: Range, name: str = "") -> None:
        with self.add_children_as_readables():
            self.absorbance, self._set_absorbance = soft_signal_r_and_setter(
                Array1D[np.float64], np.zeros(1), units="AU"
            )
            self.saturated, self._set_saturated = soft_signal_r_and_setter(int, 0)
            self.integration = IntegrationTime(driver, integration)
            self.vial = instrument_r(str, self._vial, source="VIAL?")
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.wavelengths, self._set_wavelengths = soft_signal_r_and_setter(
                Array1D[np.float64], np.zeros(1), units="nm"
            )
        self.acquire = instrument_action(self._acquire, "ACQ")
        super().__init__(driver, name=name)

    async def check_instrument(self) -> None:
        """Read the detector's wavelengths: every spectrum is on them."""
        wavelengths = await self.driver.wavelengths()
        self._set_wavelengths(wavelengths)
        self._set_absorbance(np.zeros_like(wavelengths))

    def measured(self) -> list[SignalR[Any]]:
        """The spectrum and how many of its points saturated: set by :meth:`trigger`."""
        return [self.absorbance, self.saturated]

    async def _vial(self) -> str:
        return await self.driver.vial() or ""

    async def _acquire(self) -> None:
        self._set_absorbance(await self.driver.acquire())
        self._set_saturated(await self.driver.saturated())

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Acquire one spectrum, and how many of its points are saturated (in mock mode
        the spectrum is what ``set_mock_value`` put there)."""
        await self.acquire.trigger()
