"""A chromatograph-like analyser (HPLC, GC) as an ophyd-async readable: one signal per
reported quantity, with its unit, so any of them can be an objective."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bluesky.protocols import Triggerable
from ophyd_async.core import AsyncStatus, SignalR, soft_signal_r_and_setter

from devices._errors import DeviceFault
from devices._instrument import InstrumentDevice
from devices._signals import instrument_action, instrument_r
from devices.analyser._driver import AnalyserDriver


class Analyser(InstrumentDevice, Triggerable):
    """``trigger()`` analyses the vial in the holder; each of ``fields`` (name -> unit, as
    the lab file declares them) is a signal read afterwards, e.g. ``hplc-yield`` in %.

    Args:
        driver: the codec of the analyser's protocol.
        fields: what one analysis reports, name -> unit; a name the device already uses
            (see :meth:`taken`) is refused.
    """

    driver: AnalyserDriver

    def __init__(self, driver: AnalyserDriver, fields: Mapping[str, str], name: str = "") -> None:
        taken = sorted(f for f in fields if self.taken(f))
        if taken:
            raise ValueError(
                f"analyser field names {taken} are taken by the device itself; rename them"
            )
        self.fields = dict(fields)
        self._setters: dict[str, Callable[[float], None]] = {}
        self.results: dict[str, SignalR[float]] = {}
        with self.add_children_as_readables():
            for field, unit in self.fields.items():
                signal, self._setters[field] = soft_signal_r_and_setter(float, units=unit)
                setattr(self, field, signal)
                self.results[field] = signal
            self.vial = instrument_r(str, self._vial, source="VIAL?")
        self.analyse = instrument_action(self._analyse, "RUN")
        super().__init__(driver, name=name)

    @classmethod
    def taken(cls, field: str) -> bool:
        """Whether ``field`` names something the device has already (``vial``, ``driver``,
        ``read``...), so it cannot be the name of a reported quantity."""
        return field in _OWN_NAMES or hasattr(cls, field)

    async def check_instrument(self) -> None:
        """The instrument's method reports the fields the lab file declares."""
        reported = await self.driver.fields()
        if reported != self.fields:
            raise DeviceFault(
                self.name,
                f"the instrument reports {reported}, the lab file declares {self.fields}",
            )

    def measured(self) -> list[SignalR[float]]:
        """Each reported quantity: set by :meth:`trigger`."""
        return list(self.results.values())

    async def _vial(self) -> str:
        return await self.driver.vial() or ""

    async def _analyse(self) -> None:
        result = await self.driver.run()
        for field, setter in self._setters.items():
            setter(result[field])

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Run one analysis and set each reported quantity (in mock mode they keep what
        ``set_mock_value`` put there)."""
        await self.analyse.trigger()


#: attributes every analyser instance has beside its class's
_OWN_NAMES = frozenset({"driver", "fields", "results", "vial", "analyse", "parent"})
