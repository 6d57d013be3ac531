"""A chromatograph-like analyser (HPLC, GC) as an ophyd-async readable: one signal per
reported quantity, with its unit, so any of them can be an objective."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bluesky.protocols import Triggerable
from ophyd_async.core import AsyncStatus, SignalR, soft_signal_r_and_setter

from devices._errors import DeviceFault
from devices._instrument import InstrumentDevice, read_afresh, read_back
from devices.analyser._driver import AnalyserDriver


class Analyser(InstrumentDevice, Triggerable):
    """``trigger()`` analyses the vial in the holder; each of ``fields`` (name -> unit, as
    the lab file declares them) is a signal read afterwards, e.g. ``hplc-yield`` in %."""

    def __init__(self, driver: AnalyserDriver, fields: Mapping[str, str], name: str = "") -> None:
        self.driver = driver
        self.fields = dict(fields)
        self._setters: dict[str, Callable[[float], None]] = {}
        self.results: dict[str, SignalR[float]] = {}
        with self.add_children_as_readables():
            for field, unit in self.fields.items():
                signal, self._setters[field] = soft_signal_r_and_setter(float, units=unit)
                setattr(self, field, signal)
                self.results[field] = signal
            self.vial = read_back(str, self._vial)
        super().__init__(name=name)

    async def _on_connect(self) -> None:
        reported = await self.driver.fields()
        if reported != self.fields:
            raise DeviceFault(
                self.name,
                f"the instrument reports {reported}, the lab file declares {self.fields}",
            )
        await self.refresh()

    def measured(self) -> list[SignalR[float]]:
        """Each reported quantity: set by :meth:`trigger`."""
        return list(self.results.values())

    async def _vial(self) -> str:
        return await self.driver.vial() or ""

    async def refresh(self) -> None:
        """Read the vial afresh."""
        await read_afresh(self.vial)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Run one analysis, set each reported quantity, and read which vial it was."""
        result = await self.driver.run()
        for field, setter in self._setters.items():
            setter(result[field])
        await self.refresh()
