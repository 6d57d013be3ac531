"""A UV-Vis spectrometer as an ophyd-async detector-like readable."""

from __future__ import annotations

from typing import Any

import numpy as np
from bluesky.protocols import Movable, Triggerable
from ophyd_async.core import (
    Array1D,
    AsyncStatus,
    SignalR,
    StandardReadable,
    soft_signal_r_and_setter,
)
from ophyd_async.core import StandardReadableFormat as Format

from devices._instrument import InstrumentDevice, read_afresh, read_back
from devices._quantity import DeviceValue, Range
from devices.spectrometer._driver import SpectrometerDriver


class IntegrationTime(StandardReadable, Movable[DeviceValue]):
    """``bps.mv(spectrometer.integration, "100 ms")``, refused outside the detector's range."""

    def __init__(self, driver: SpectrometerDriver, limits: Range, name: str = "") -> None:
        self._driver = driver
        self.limits = limits
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.time = read_back(float, driver.integration, "ms")
        super().__init__(name=name)

    async def refresh(self) -> None:
        """Read the integration time afresh."""
        await read_afresh(self.time)

    @AsyncStatus.wrap
    async def set(self, value: DeviceValue) -> None:
        """Set the integration time, refused outside the detector's range."""
        ms = self.limits.check(value, device=self.name, what="integration time")
        await self._driver.set_integration(ms)
        await self.refresh()


class Spectrometer(InstrumentDevice, Triggerable):
    """``trigger()`` acquires one absorbance spectrum of the sample in the holder."""

    def __init__(self, driver: SpectrometerDriver, integration: Range, name: str = "") -> None:
        self.driver = driver
        with self.add_children_as_readables():
            self.absorbance, self._set_absorbance = soft_signal_r_and_setter(
                Array1D[np.float64], np.zeros(1), units="AU"
            )
            self.saturated, self._set_saturated = soft_signal_r_and_setter(int, 0)
            self.integration = IntegrationTime(driver, integration)
            self.vial = read_back(str, self._vial)
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.wavelengths, self._set_wavelengths = soft_signal_r_and_setter(
                Array1D[np.float64], np.zeros(1), units="nm"
            )
        super().__init__(name=name)

    async def _on_connect(self) -> None:
        wavelengths = await self.driver.wavelengths()
        self._set_wavelengths(wavelengths)
        self._set_absorbance(np.zeros_like(wavelengths))
        await self.refresh()

    def measured(self) -> list[SignalR[Any]]:
        """The spectrum and how many of its points saturated: set by :meth:`trigger`."""
        return [self.absorbance, self.saturated]

    async def _vial(self) -> str:
        return await self.driver.vial() or ""

    async def refresh(self) -> None:
        """Read the integration time and the vial afresh."""
        await self.integration.refresh()
        await read_afresh(self.vial)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Acquire one spectrum, and how many of its points are saturated."""
        self._set_absorbance(await self.driver.acquire())
        self._set_saturated(await self.driver.saturated())
