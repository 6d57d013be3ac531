"""The physical state of a simulated workcell: where each vial is and what is in it.

Shared by the simulated arm, synthesis station and spectrometer so that a vial the arm
carries is the vial the pumps fill and the spectrometer measures.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pint


@dataclass
class Vial:
    """One vial: what it holds (mL per reagent) and what it saw (highest temperature, stirring)."""

    id: str
    capacity_ml: float
    contents_ml: dict[str, float] = field(default_factory=dict)
    #: highest temperature the vial saw at the station (degC)
    temperature_c: float = 25.0
    stir_time_s: float = 0.0
    stir_rpm: float = 0.0

    @property
    def volume_ml(self) -> float:
        """What the vial holds in all (mL)."""
        return sum(self.contents_ml.values())

    def conditions(self) -> dict[str, pint.Quantity]:
        """What the chemistry is told of the vial's history. Stirring counts in whole
        seconds, as a stirrer's timer does: the simulated clock's jitter (a command's
        latency times the clock's speed) then leaves a trial's outcome as it was, so that a
        seeded simulated campaign repeats itself exactly."""
        return {
            "temperature": ureg.Quantity(self.temperature_c, ureg.degC),
            "stir_time": round(self.stir_time_s) * ureg.s,
            "stir_speed": self.stir_rpm * ureg.rpm,
        }


@dataclass
class Location:
    """A named place with coordinates (mm); ``source`` racks hand out fresh vials,
    ``sink`` places (waste) swallow what is put down."""

    name: str
    xyz_mm: tuple[float, float, float]
    source: bool = False
    sink: bool = False


@dataclass
class Reservoir:
    """A pump's reagent reservoir: what it holds, and the faults and wear a simulation can give its pump."""

    reagent: str
    volume_ml: float
    #: fault injection: a pump that jams fails each dispense it starts, at its end
    jammed: bool = False
    #: degradation: the fraction of each commanded volume the pump truly delivers (a worn
    #: seal, a slipping stepper); the reservoir's level sensor sees the truth
    delivery: float = 1.0


class Workcell:
    """Vials, locations and reagent reservoirs of one simulated lab.

    Args:
        locations: every place a vial may stand.
        vial_capacity_ml: what one vial holds (mL).
        rack_vials: how many empty vials each rack holds at the start.
    """

    def __init__(
        self,
        locations: list[Location],
        vial_capacity_ml: float = 10.0,
        rack_vials: int = 1000,
    ) -> None:
        self.locations = {loc.name: loc for loc in locations}
        self.vial_capacity_ml = vial_capacity_ml
        self._rack_left = {loc.name: rack_vials for loc in locations if loc.source}
        self._ids = itertools.count(1)
        # like a barcode: unique across restarts of the simulation
        self._batch = uuid.uuid4().hex[:6].upper()
        self.vials_at: dict[str, Vial | None] = {loc.name: None for loc in locations}
        self.discarded: list[Vial] = []
        #: called with the location just before a vial is lifted from it
        self.before_take: dict[str, Callable[[], None]] = {}
        #: what the wells of the plates on simulated decks hold
        self.plates = PlateTwin()

    def distance_mm(self, a: str, b: str) -> float:
        """Straight-line distance between two locations (mm).

        Args:
            a: a location's name.
            b: another location's name.
        """
        return math.dist(self.locations[a].xyz_mm, self.locations[b].xyz_mm)

    def fill_rack(self, location: str, vials: int) -> None:
        """A person filled the rack at ``location``: it holds ``vials`` fresh vials now.

        Args:
            location: a rack's name.
            vials: how many it holds.
        """
        if location not in self._rack_left:
            raise KeyError(f"{location} is not a rack")
        self._rack_left[location] = vials

    def rack_left(self, location: str) -> int:
        """How many fresh vials the rack at ``location`` still holds."""
        return self._rack_left[location]

    def take(self, location: str) -> Vial | None:
        """Lift the vial at ``location`` (a fresh one from a rack); None if there is none."""
        if location in self._rack_left:
            if self._rack_left[location] <= 0:
                return None
            self._rack_left[location] -= 1
            return Vial(
                id=f"V{self._batch}-{next(self._ids):04d}", capacity_ml=self.vial_capacity_ml
            )
        if location in self.before_take:
            self.before_take[location]()
        vial, self.vials_at[location] = self.vials_at[location], None
        return vial

    def put(self, location: str, vial: Vial) -> bool:
        """Set ``vial`` down; False if the place is occupied.

        Args:
            location: where to set it down.
            vial: the vial.
        """
        if self.locations[location].sink:
            self.discarded.append(vial)
            return True
        if self.vials_at[location] is not None or location in self._rack_left:
            return False
        self.vials_at[location] = vial
        return True


ureg = pint.get_application_registry()


@dataclass
class PlateTwin:
    """What every well of the simulated deck holds (reagent -> µL) and how long it was
    mixed, keyed by (labware, well); reservoirs are known by the reagent they hold."""

    reservoirs: dict[tuple[str, str], str] = field(default_factory=dict)
    wells: dict[tuple[str, str], dict[str, float]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    mixed_s: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))

    def composition(self, plate: str, well: str) -> dict[str, pint.Quantity]:
        """What one well holds, with units."""
        return {r: ureg.Quantity(v, "uL") for r, v in self.wells[(plate, well)].items()}
