"""Check a plate protocol against the lab's liquid handler and plate reader before
anything moves: each trial's well on its own (reagents the reservoirs hold, volumes a tip
and a well take, wavelengths the reader reads), and a plate's batch of trials together
(wells left on the plate, tips left, reagent enough for every well)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from devices import Capability, Range, quantity_text
from protocols.models import Mix, Pipette, Protocol, ReadPlate

#: the name of a liquid handler's limit on how much of a reagent it can give (µL)
REAGENT_LIMIT = "reagent {}"


@dataclass(frozen=True)
class PlateDevices:
    """The liquid handler and the plate reader a plate protocol runs on, by name, with
    their limits: the handler's ``well_volume``, ``tip_volume``, ``tips`` and
    ``reagent <name>`` (µL), the reader's ``wavelength`` (nm)."""

    handler: str | None
    handler_limits: Mapping[str, Range]
    reader: str | None
    reader_limits: Mapping[str, Range]

    @classmethod
    def of(cls, devices: Mapping[str, object]) -> PlateDevices:
        """The lab's first device that pipettes into wells and its first plate reader
        (``devices``: :class:`protocols.preflight.DeviceFacts` by name)."""

        def first(capability: Capability) -> tuple[str | None, Mapping[str, Range]]:
            for name, facts in devices.items():
                if capability in getattr(facts, "capabilities", ()):
                    return name, getattr(facts, "limits", {})
            return None, {}

        handler, handler_limits = first(Capability.PIPETTES)
        reader, reader_limits = first(Capability.READS_PLATES)
        return cls(handler, handler_limits, reader, reader_limits)

    def reagents(self) -> dict[str, float]:
        """What the handler's reservoirs hold of each reagent (µL)."""
        prefix = REAGENT_LIMIT.format("")
        return {
            k.removeprefix(prefix): r.high
            for k, r in self.handler_limits.items()
            if k.startswith(prefix)
        }


def well_problems(protocol: Protocol, plate: PlateDevices) -> list[tuple[str, str]]:
    """What is wrong with one trial's well, as (field path, message) pairs."""
    if plate.handler is None:
        return [("steps", "this lab has no liquid handler (a device that pipettes into wells)")]
    problems: list[tuple[str, str]] = []
    reagents = plate.reagents()
    tip = plate.handler_limits.get("tip_volume")
    well = plate.handler_limits.get("well_volume")
    total_ul = 0.0
    for i, step in enumerate(protocol.steps):
        path = f"steps.{i}"
        if isinstance(step, Pipette | Mix):
            ul = float(step.volume.m_as("uL"))
            if ul < 0:
                problems.append(
                    (f"{path}.volume", f"negative volume '{quantity_text(step.volume)}'")
                )
            if tip is not None and ul > tip.high + 1e-9:
                problems.append(
                    (f"{path}.volume", f"{ul:g} µL is more than a tip takes ({tip.high:g} µL)")
                )
        if isinstance(step, Mix) and ul > total_ul + 1e-9:
            problems.append(
                (f"{path}.volume", f"mixes {ul:g} µL from a well holding {total_ul:g} µL by then")
            )
        if isinstance(step, Pipette):
            total_ul += float(step.volume.m_as("uL"))
            if step.reagent not in reagents:
                held = ", ".join(sorted(reagents)) or "nothing"
                problems.append(
                    (
                        f"{path}.reagent",
                        f"no reservoir of {plate.handler} holds {step.reagent!r} (they hold {held})",
                    )
                )
        if isinstance(step, ReadPlate):
            problems += _reader_problems(f"{path}.wavelengths", step, plate)
    if well is not None and total_ul > well.high + 1e-9:
        problems.append(
            ("steps", f"fills a well with {total_ul:g} µL; a well holds {well.high:g} µL")
        )
    return problems


def _reader_problems(path: str, step: ReadPlate, plate: PlateDevices) -> list[tuple[str, str]]:
    if plate.reader is None:
        return [(path.rsplit(".", 1)[0], "this lab has no plate reader")]
    limit = plate.reader_limits.get("wavelength")
    if limit is None:
        return []
    outside = [nm for nm in step.wavelengths.nanometres() if not limit.low <= nm <= limit.high]
    if outside:
        return [(path, f"{plate.reader} reads {limit}; not {outside[0]:g} nm")]
    return []


def batch_problems(
    protocols: Sequence[Protocol], wells_left: int, plate: PlateDevices
) -> list[str]:
    """Why a plate's batch of trials cannot all be made: more trials than wells left,
    more tips or reagent than the deck holds. Each line says what to do."""
    problems = []
    if len(protocols) > wells_left:
        problems.append(
            f"{len(protocols)} trials need a well each and the plate has {wells_left} left; "
            "put a fresh plate on the deck"
        )
    tips = sum(uses_tip(s) for p in protocols for s in p.steps)
    left = plate.handler_limits.get("tips")
    if left is not None and tips > left.high:
        problems.append(
            f"the batch needs {tips} tips and {plate.handler} has {left.high:g} left; "
            "put fresh tip racks on the deck"
        )
    needed: dict[str, float] = {}
    for p in protocols:
        for s in p.steps:
            if isinstance(s, Pipette):
                needed[s.reagent] = needed.get(s.reagent, 0.0) + float(s.volume.m_as("uL"))
    held = plate.reagents()
    for reagent, ul in sorted(needed.items()):
        if reagent in held and ul > held[reagent] + 1e-9:
            problems.append(
                f"the batch needs {ul:g} µL of {reagent} and the reservoirs hold "
                f"{held[reagent]:g} µL; refill them"
            )
    return problems


def uses_tip(step: object) -> bool:
    """A pipette or mix step of a volume above zero takes a fresh tip (a zero volume, a
    dye the planner left out, is skipped)."""
    return isinstance(step, Pipette | Mix) and float(step.volume.m_as("uL")) > 0
