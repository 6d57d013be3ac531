"""A liquid handler driven through PyLabRobot: the labware on its deck, the tips it has
left, what each reservoir holds, and the two things a plate protocol asks of it (move a
volume of a reagent into a well with a fresh tip, mix a well)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ophyd_async.core import SignalR, StandardReadable, soft_signal_r_and_setter

from devices._errors import LimitViolation
from devices._instrument import InstrumentDevice
from devices._plr import PlrDriver, labware_factory, well_name
from devices._quantity import Range
from devices._signals import instrument_command


@dataclass(frozen=True)
class Labware:
    """One piece of labware on a deck.

    Args:
        name: its name in the lab file (a plate's is the plate's name in the ledger).
        kind: PyLabRobot's definition of it (``cor_96_wellplate_360uL_Fb``).
        slot: the deck slot it stands in (an OT-2 deck's 1-12), or None for ``location_mm``.
        location_mm: where it stands on a deck without slots (x, y, z).
        contents: what a reservoir's wells hold: well -> (reagent, volume in µL).
    """

    name: str
    kind: str
    slot: int | None = None
    location_mm: tuple[float, float, float] | None = None
    contents: Mapping[str, tuple[str, float]] = field(default_factory=dict)

    def resource(self) -> Any:
        """PyLabRobot's resource for it (not yet on a deck)."""
        return labware_factory(self.kind)(self.name)


class Reservoirs(StandardReadable):
    """How much of each reagent the deck's reservoirs hold, one signal per reagent (µL)."""

    def __init__(self, reagents: Sequence[str], name: str = "") -> None:
        self.setters = {}
        self._signals: list[SignalR[float]] = []
        with self.add_children_as_readables():
            for reagent in reagents:
                signal, setter = soft_signal_r_and_setter(float, units="µL")
                setattr(self, reagent, signal)
                self.setters[reagent] = setter
                self._signals.append(signal)
        super().__init__(name=name)

    def levels(self) -> list[SignalR[float]]:
        """Each reagent's level signal."""
        return list(self._signals)


class LiquidHandler(InstrumentDevice):
    """A pipetting robot with PyLabRobot's ``LiquidHandler`` as its driver: one channel,
    a fresh tip for every transfer (so no reagent carries over), PyLabRobot's volume and
    tip tracking on (a tip rack that runs out or a well asked for more than it holds is
    refused by PyLabRobot before the backend moves).

    ``pipette.execute(reagent, plate, well, volume_ul)`` moves a reagent into a well;
    ``mix.execute(plate, well, volume_ul, cycles)`` mixes a well; ``tips_left`` and
    ``reservoirs.<reagent>`` are read into every event.

    Args:
        driver: the PyLabRobot machine (its ``machine`` is a ``LiquidHandler`` with a deck).
        labware: what stands on its deck.
        name: the device's name.
    """

    driver: PlrDriver

    def __init__(self, driver: PlrDriver, labware: Sequence[Labware], name: str = "") -> None:
        self.labware = {item.name: item for item in labware}
        self.resources = {item.name: item.resource() for item in labware}
        deck = driver.machine.deck
        for item in labware:
            resource = self.resources[item.name]
            if item.slot is not None:
                deck.assign_child_at_slot(resource, item.slot)
            else:
                from pylabrobot.resources import Coordinate

                deck.assign_child_resource(
                    resource, location=Coordinate(*(item.location_mm or (0, 0, 0)))
                )
        self._sources: dict[str, list[Any]] = {}
        for item in labware:
            for well, (reagent, volume_ul) in item.contents.items():
                container = self.resources[item.name].get_item(well)
                container.tracker.set_volume(volume_ul)
                self._sources.setdefault(reagent, []).append(container)
        with self.add_children_as_readables():
            self.tips_left, self._set_tips = soft_signal_r_and_setter(int)
            self.reservoirs = Reservoirs(sorted(self._sources))
        self.pipette = instrument_command(self._pipette, "aspirate and dispense with a fresh tip")
        self.mix = instrument_command(self._mix, "mix a well")
        super().__init__(driver, name=name)
        self._publish()

    @property
    def reagents(self) -> list[str]:
        """The reagents its reservoirs hold."""
        return sorted(self._sources)

    def tip_spots(self) -> list[Any]:
        """Every tip spot of its tip racks that holds a tip, in rack order."""
        from pylabrobot.resources import TipRack

        return [
            spot
            for resource in self.resources.values()
            if isinstance(resource, TipRack)
            for spot in resource.get_all_items()
            if spot.has_tip()
        ]

    def level_ul(self, reagent: str) -> float:
        """What the reservoirs hold of ``reagent`` (µL)."""
        return sum(c.tracker.get_used_volume() for c in self._sources.get(reagent, []))

    def measured(self) -> list[SignalR[Any]]:
        """Its tips and reservoirs: set by its own operations (PyLabRobot's tracking),
        never polled, so their age is the time since they last changed."""
        return [self.tips_left, *self.reservoirs.levels()]

    def limits(self) -> dict[str, Range]:
        """What it can do now, by name, for preflight: ``well_volume`` (its plates'),
        ``tip_volume`` (its tips'), ``tips`` (left), ``reagent <name>`` (µL held)."""
        return deck_limits(
            list(self.resources.values()), {r: self.level_ul(r) for r in self.reagents}
        )

    def wells(self, plate: str) -> list[str]:
        """A plate's wells in PyLabRobot's order (down each column: A1, B1, ..., H1, A2)."""
        resource = self.resources[plate]
        return [well_name(w) for w in resource.get_all_items()]

    def empty_wells(self, plate: str, used: Collection[str] = ()) -> list[str]:
        """A plate's wells that hold nothing, in order, leaving out ``used`` (the wells a
        ledger knows were filled before this process started)."""
        resource = self.resources[plate]
        return [
            w
            for w in self.wells(plate)
            if w not in used and resource.get_item(w).tracker.get_used_volume() == 0
        ]

    def _publish(self) -> None:
        self._set_tips(len(self.tip_spots()))
        for reagent, setter in self.reservoirs.setters.items():
            setter(self.level_ul(reagent))

    async def check_instrument(self) -> None:
        """Volume and tip tracking on: PyLabRobot then refuses what the deck cannot do."""
        from pylabrobot.resources import set_tip_tracking, set_volume_tracking

        set_volume_tracking(True)
        set_tip_tracking(True)

    async def _pipette(self, reagent: str, plate: str, well: str, volume_ul: float) -> None:
        machine = self.driver.machine
        what = f"{volume_ul:g} µL of {reagent} into {plate} {well}"
        sources = [
            c for c in self._sources.get(reagent, []) if c.tracker.get_used_volume() >= volume_ul
        ]
        if not sources:
            raise LimitViolation(
                self.name,
                f"{what}: the reservoirs hold {self.level_ul(reagent):g} µL of {reagent}; refill them",
            )
        tips = self.tip_spots()
        if not tips:
            raise LimitViolation(
                self.name, f"{what}: no tips left; put a fresh tip rack on the deck"
            )
        target = self.resources[plate].get_item(well)
        try:
            await self.driver.call("pick up tip", lambda: machine.pick_up_tips([tips[0]]))
            await self.driver.call(
                "aspirate", lambda: machine.aspirate([sources[0]], vols=[volume_ul])
            )
            await self.driver.call("dispense", lambda: machine.dispense([target], vols=[volume_ul]))
        finally:
            await self._drop_tip()
            self._publish()

    async def _mix(self, plate: str, well: str, volume_ul: float, cycles: int) -> None:
        machine = self.driver.machine
        target = self.resources[plate].get_item(well)
        tips = self.tip_spots()
        if not tips:
            raise LimitViolation(
                self.name, f"mix {plate} {well}: no tips left; put a fresh tip rack on the deck"
            )
        try:
            await self.driver.call("pick up tip", lambda: machine.pick_up_tips([tips[0]]))
            for _ in range(cycles):
                await self.driver.call(
                    "aspirate", lambda: machine.aspirate([target], vols=[volume_ul])
                )
                await self.driver.call(
                    "dispense", lambda: machine.dispense([target], vols=[volume_ul])
                )
        finally:
            await self._drop_tip()
            self._publish()

    async def _drop_tip(self) -> None:
        """A tip on the channel goes to the trash (the safe state: nothing held)."""
        machine = self.driver.machine
        if machine.setup_finished and machine.head[0].has_tip:
            await self.driver.call("discard tip", machine.discard_tips)

    async def stop(self) -> None:
        """Its safe state: no tip on the channel."""
        if not self.driver.stopped:
            await self._drop_tip()


def deck_limits(resources: Sequence[Any], reagents_ul: Mapping[str, float]) -> dict[str, Range]:
    """A deck's limits for preflight (see :meth:`LiquidHandler.limits`), from its
    PyLabRobot resources and what its reservoirs hold of each reagent (µL)."""
    from pylabrobot.resources import Plate, TipRack

    plates = [r for r in resources if isinstance(r, Plate)]
    racks = [r for r in resources if isinstance(r, TipRack)]
    limits: dict[str, Range] = {}
    if plates:
        well = min(float(p.get_item(0).max_volume) for p in plates)
        limits["well_volume"] = Range(0.0, well, "uL")
    if racks:
        tip = min(float(r.get_item(0).make_tip().maximal_volume) for r in racks)
        limits["tip_volume"] = Range(0.0, tip, "uL")
        spots = sum(s.has_tip() for r in racks for s in r.get_all_items())
        limits["tips"] = Range(0.0, float(spots), "tips")
    for reagent, ul in reagents_ul.items():
        limits[f"reagent {reagent}"] = Range(0.0, ul, "uL")
    return limits
