"""A plate reader driven through PyLabRobot: it reads the absorbance of every well of its
plate at each wavelength asked, and hands the lab one well's spectrum at a time, so each
trial's well is an event of its own (a well the reader could not read fails only its
trial)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from ophyd_async.core import Array1D, SignalR, StandardReadableFormat, soft_signal_r_and_setter

from devices._errors import DeviceFault
from devices._instrument import InstrumentDevice
from devices._plr import PlrDriver
from devices._quantity import Range
from devices._signals import instrument_command
from devices.liquid_handler import Labware


class PlateReader(InstrumentDevice):
    """An absorbance plate reader with PyLabRobot's ``PlateReader`` as its driver.

    ``read_plate.execute(wavelengths_nm, wells)`` reads the plate in it;
    ``select.execute(well)`` then puts that well's spectrum in ``absorbance`` (and its
    name in ``well``), ready to be read into an event; ``wavelengths`` (configuration)
    are those of the last read.

    Args:
        driver: the PyLabRobot machine (a ``PlateReader``).
        plate: the plate it reads (its name is the plate's in the ledger).
        wavelengths: the wavelengths it can read (nm).
        name: the device's name.
    """

    driver: PlrDriver

    def __init__(
        self, driver: PlrDriver, plate: Labware, wavelengths: Range, name: str = ""
    ) -> None:
        self.plate = plate
        self.wavelength_range = wavelengths
        self.plate_resource = plate.resource()
        driver.machine.assign_child_resource(self.plate_resource)
        self._spectra: dict[str, np.ndarray] = {}
        with self.add_children_as_readables(StandardReadableFormat.CONFIG_SIGNAL):
            self.wavelengths, self._set_wavelengths = soft_signal_r_and_setter(
                Array1D[np.float64], units="nm"
            )
        with self.add_children_as_readables():
            self.well, self._set_well = soft_signal_r_and_setter(str)
            self.absorbance, self._set_absorbance = soft_signal_r_and_setter(
                Array1D[np.float64], units=""
            )
        self.read_plate = instrument_command(self._read_plate, "read the plate's absorbance")
        self.select = instrument_command(self._select, "one well's spectrum")
        super().__init__(driver, name=name)

    def measured(self) -> list[SignalR[Any]]:
        """The last well shown and its spectrum: set by a read, not by a poll."""
        return [self.well, self.absorbance]

    async def _read_plate(self, wavelengths_nm: Array1D[np.float64], wells: Sequence[str]) -> None:
        for nm in wavelengths_nm:
            self.wavelength_range.check(nm, device=self.name, what="wavelength")
        plate = self.plate_resource
        chosen = [plate.get_item(w) for w in wells]
        spectra = {w: np.full(len(wavelengths_nm), np.nan) for w in wells}
        for i, nm in enumerate(wavelengths_nm):
            result = await self.driver.call(
                f"read absorbance at {nm:g} nm",
                partial(
                    self.driver.machine.read_absorbance,
                    wavelength=round(nm),
                    wells=chosen,
                    use_new_return_type=True,
                ),
            )
            data = result[0]["data"]
            for well in wells:
                row, column = _position(well)
                value = data[row][column] if row < len(data) and column < len(data[row]) else None
                if value is not None and math.isfinite(float(value)):
                    spectra[well][i] = float(value)
        self._spectra = spectra
        self._set_wavelengths(np.asarray(wavelengths_nm, dtype=np.float64))

    async def _select(self, well: str) -> None:
        if well not in self._spectra:
            raise DeviceFault(
                self.name, f"well {well} was not in the last read of the plate", "select"
            )
        self._set_well(well)
        self._set_absorbance(self._spectra[well])


def _position(well: str) -> tuple[int, int]:
    """``B3`` -> (1, 2): row and column from 0."""
    return ord(well[0].upper()) - ord("A"), int(well[1:]) - 1
