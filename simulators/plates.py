"""Simulated plate instruments behind PyLabRobot's backend interfaces: a liquid handler
(PyLabRobot's own chatterbox backend, kept quiet, taking lab time per operation and
telling the twin what each well received) and an absorbance plate reader that reads what
the twin's chemistry says each well holds (PyLabRobot's chatterbox reader returns zeros)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pint
from pylabrobot.liquid_handling.backends.chatterbox import LiquidHandlerChatterboxBackend
from pylabrobot.plate_reading.backend import PlateReaderBackend

from simulators.chemistry import GroundTruth
from simulators.clock import SimClock
from simulators.workcell import PlateTwin

ureg = pint.get_application_registry()


def _well(resource: Any) -> tuple[str, str]:
    parent = resource.parent
    return parent.name, str(parent.get_child_identifier(resource))


class SimulatedLiquidHandlerBackend(LiquidHandlerChatterboxBackend):
    """PyLabRobot's simulation backend with the twin's hook: aspirating from a reservoir
    loads the channel with its reagent, dispensing into a well adds it there, and every
    operation takes lab time.

    Args:
        twin: the deck's contents.
        clock: the simulation's clock.
        seconds: lab seconds per operation (tip pick-up, aspirate, dispense, tip drop).
    """

    def __init__(self, twin: PlateTwin, clock: SimClock, seconds: float = 3.0) -> None:
        super().__init__(num_channels=1)
        self.twin = twin
        self.clock = clock
        self.seconds = seconds
        self._channel: dict[int, dict[str, float]] = defaultdict(dict)

    async def setup(self) -> None:
        """Home (quietly)."""
        await super(LiquidHandlerChatterboxBackend, self).setup()

    async def stop(self) -> None:
        """Nothing to close."""

    async def pick_up_tips(self, ops: list[Any], use_channels: list[int], **kwargs: Any) -> None:
        """A fresh tip holds nothing."""
        await self.clock.sleep(self.seconds)
        for channel in use_channels:
            self._channel[channel] = {}

    async def drop_tips(self, ops: list[Any], use_channels: list[int], **kwargs: Any) -> None:
        """What is left in the tip goes with it."""
        await self.clock.sleep(self.seconds)
        for channel in use_channels:
            self._channel[channel] = {}

    async def aspirate(self, ops: list[Any], use_channels: list[int], **kwargs: Any) -> None:
        """Draw from a reservoir (its reagent) or a well (its mixture, in proportion)."""
        await self.clock.sleep(self.seconds)
        for op, channel in zip(ops, use_channels, strict=True):
            key = _well(op.resource)
            held = self._channel[channel]
            if key in self.twin.reservoirs:
                reagent = self.twin.reservoirs[key]
                held[reagent] = held.get(reagent, 0.0) + op.volume
                continue
            contents = self.twin.wells[key]
            total = sum(contents.values())
            for reagent, volume in list(contents.items()):
                taken = op.volume * volume / total if total else 0.0
                contents[reagent] = volume - taken
                held[reagent] = held.get(reagent, 0.0) + taken

    async def dispense(self, ops: list[Any], use_channels: list[int], **kwargs: Any) -> None:
        """Add what the channel holds to the well, in proportion to the volume dispensed."""
        await self.clock.sleep(self.seconds)
        for op, channel in zip(ops, use_channels, strict=True):
            key = _well(op.resource)
            held = self._channel[channel]
            total = sum(held.values())
            contents = self.twin.wells[key]
            for reagent, volume in list(held.items()):
                given = op.volume * volume / total if total else 0.0
                contents[reagent] = contents.get(reagent, 0.0) + given
                held[reagent] = volume - given
            if key not in self.twin.reservoirs and contents:
                self.twin.mixed_s[key] += self.seconds  # a dispense stirs a little


class SimulatedPlateReaderBackend(PlateReaderBackend):
    """An absorbance reader of the twin's plate: each well's absorbance is the ground
    truth's for what it holds (mixed for as long as it was) plus read noise; a well listed in ``unreadable`` reads as no number (a bubble, a
    scratch), which fails only its trial.

    Args:
        twin: the deck's contents.
        chemistry: the simulation's ground truth.
        clock: the simulation's clock.
        seconds: lab seconds per wavelength read.
        noise: standard deviation of the read noise (absorbance units).
        seed: the noise's seed.
    """

    def __init__(
        self,
        twin: PlateTwin,
        chemistry: GroundTruth,
        clock: SimClock,
        seconds: float = 2.0,
        noise: float = 0.002,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.twin = twin
        self.chemistry = chemistry
        self.clock = clock
        self.seconds = seconds
        self.noise = noise
        self.unreadable: set[str] = set()
        self._rng = np.random.default_rng(seed)

    async def setup(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def open(self) -> None:
        """Plate out."""

    async def close(self, plate: Any | None = None) -> None:
        """Plate in."""

    async def read_absorbance(self, plate: Any, wells: list[Any], wavelength: int) -> list[dict]:
        """The absorbance of each well asked at ``wavelength``; None for the others."""
        await self.clock.sleep(self.seconds)
        data: list[list[float | None]] = [
            [None] * plate.num_items_x for _ in range(plate.num_items_y)
        ]
        at = ureg.Quantity(np.array([float(wavelength)]), "nm")
        for well in wells:
            name = str(plate.get_child_identifier(well))
            if name in self.unreadable:
                continue
            composition = self.twin.composition(plate.name, name)
            mixed = ureg.Quantity(self.twin.mixed_s[(plate.name, name)], "s")
            conditions = {"temperature": ureg.Quantity(25.0, "degC"), "stir_time": mixed}
            value = float(self.chemistry(composition, conditions, at)[0])
            row, column = ord(name[0]) - ord("A"), int(name[1:]) - 1
            data[row][column] = value + float(self._rng.normal(0.0, self.noise))
        return [
            {"wavelength": wavelength, "time": self.clock.now(), "temperature": 25.0, "data": data}
        ]

    async def read_luminescence(
        self, plate: Any, wells: list[Any], focal_height: float
    ) -> list[dict]:
        """Not simulated: the colour demo reads absorbance."""
        raise NotImplementedError("the simulated plate reader reads absorbance only")

    async def read_fluorescence(
        self,
        plate: Any,
        wells: list[Any],
        excitation_wavelength: int,
        emission_wavelength: int,
        focal_height: float,
    ) -> list[dict]:
        """Not simulated: the colour demo reads absorbance."""
        raise NotImplementedError("the simulated plate reader reads absorbance only")
