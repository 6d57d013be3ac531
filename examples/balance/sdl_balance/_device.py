"""The balance as an ophyd-async device: ``trigger()`` takes one stable weighing into
``mass``; ``zero`` and ``tare`` are the balance's own commands."""

from __future__ import annotations

import math

from bluesky.protocols import Triggerable
from ophyd_async.core import AsyncStatus, SignalR, soft_signal_r_and_setter

from devices import InstrumentDevice, instrument_action, instrument_r
from sdl_balance._mt_sics import MtSicsDriver


class Balance(InstrumentDevice, Triggerable):
    """An analytical balance: ``bps.trigger_and_read([balance])`` records a stable mass.

    Args:
        driver: the MT-SICS codec on the balance's line.
        empty_below_g: a load below this is an empty pan (dust, drift), above it a vial.
        name: the device's name.
    """

    driver: MtSicsDriver

    def __init__(self, driver: MtSicsDriver, empty_below_g: float = 1.0, name: str = "") -> None:
        self.empty_below_g = empty_below_g
        with self.add_children_as_readables():
            # nothing weighed yet: no number (NaN reads as none), not a mass of 0 g
            self.mass, self._set_mass = soft_signal_r_and_setter(float, math.nan, units="g")
        # not read with the device: a weighing records the stable mass, and SI would wait
        # behind an S in progress on the line anyway
        self.weight_now = instrument_r(float, self._weight_now, "g", "SI")
        #: a vial (or anything heavier than ``empty_below_g``) is on the pan: the lab
        #: clears it after a fault, though a balance cannot tell which vial it is
        self.occupied = instrument_r(bool, self._occupied, source="SI")
        self.zero = instrument_action(driver.zero, "Z")
        self.tare = instrument_action(self._tare, "T")
        self.tare_weight, self._set_tare = soft_signal_r_and_setter(float, units="g")
        self.weighing = instrument_action(self._weigh, "S")
        super().__init__(driver, name=name)

    async def _weight_now(self) -> float:
        return (await self.driver.weigh_now())[0]

    async def _occupied(self) -> bool:
        gross = await self._weight_now() + await self.tare_weight.get_value()
        return gross >= self.empty_below_g

    async def _weigh(self) -> None:
        self._set_mass(await self.driver.weigh())

    async def _tare(self) -> None:
        self._set_tare(await self.driver.tare())

    def measured(self) -> list[SignalR[float]]:
        """The last stable weighing: its age is when it was weighed."""
        return [self.mass]

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """One stable weighing (in mock mode ``mass`` keeps what ``set_mock_value`` put)."""
        await self.weighing.trigger()
