"""Check a concrete protocol against the lab before anything moves.

Every violation is collected (not just the first) and named by its field path, so an
operator fixes a protocol in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pint

from devices import Capability, Range, quantity_text, unit_symbol
from protocols.models import (
    Analyse,
    Discard,
    Dispense,
    Heat,
    Measure,
    PluginStep,
    Protocol,
    Stir,
    Transfer,
    Wait,
)
from protocols.plate_checks import PlateDevices, well_problems
from protocols.step_kinds import load_step_kind

if TYPE_CHECKING:
    from devices import RoboticArm, Spectrometer, SynthesisStation


@dataclass(frozen=True)
class Violation:
    """One problem found before anything moved: where (the field path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def concerns(self, path: str) -> bool:
        """True if this violation is about the field at ``path`` (or inside it)."""
        return self.path == path or self.path.startswith(path + ".")


class PreflightError(ValueError):
    """A protocol that must not run, with every :class:`Violation` found.

    Args:
        protocol: the protocol's name.
        violations: every problem found.
    """

    def __init__(self, protocol: str, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"protocol {protocol!r} failed preflight:\n{lines}")


@dataclass(frozen=True)
class DeviceFacts:
    """What a device declares of itself for protocols: what it can do, the place where
    it holds a vial (if it does), and its limits by name.

    Args:
        capabilities: what it does (:class:`devices.Capability` values).
        place: the location of its vial holder, if it has one.
        limits: its limits by name (e.g. ``mass``), in their units.
    """

    capabilities: frozenset[str]
    place: str | None = None
    limits: dict[str, Range] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """As JSON-able data."""
        return {
            "capabilities": sorted(self.capabilities),
            "place": self.place,
            "limits": {k: asdict(v) for k, v in self.limits.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceFacts:
        """Back from :meth:`to_json`."""
        return cls(
            frozenset(data["capabilities"]),
            data["place"],
            {k: Range(**v) for k, v in data["limits"].items()},
        )


@dataclass(frozen=True)
class LabLimits:
    """What the lab can do right now: places, limits and reagent stock."""

    reachable: frozenset[str]
    sources: frozenset[str]
    waste: str
    station_slot: str
    spectrometer_holder: str
    vial_capacity: Range
    temperature: Range
    stir_speed: Range
    dispense_rate: Range
    integration: Range
    stock_ml: dict[str, float] = field(default_factory=dict)
    #: where the analyser holds its vial; None: the lab has no analyser
    analyser_holder: str | None = None
    #: every device by name, with what it declares of itself (steps of installed
    #: packages are checked against these)
    devices: dict[str, DeviceFacts] = field(default_factory=dict)
    #: each arm's reach, by the arm's name (a transfer needs one arm that reaches both
    #: places); empty: one arm, whose reach is ``reachable``
    reaches: dict[str, frozenset[str]] = field(default_factory=dict)

    def arm_for(self, source: str, destination: str) -> str | None:
        """The first arm that reaches both places (None if none does, or if the lab's
        one arm is described by ``reachable`` alone)."""
        return next((n for n, r in self.reaches.items() if {source, destination} <= r), None)

    def spectrometers(self) -> dict[str, Range]:
        """Each spectrometer's holder with its integration times."""
        found = {
            d.place: d.limits.get("integration_time", self.integration)
            for d in self.devices.values()
            if Capability.MEASURES_SPECTRUM in d.capabilities and d.place is not None
        }
        return found or {self.spectrometer_holder: self.integration}

    def heated_places(self) -> dict[str, Range]:
        """Each place other than the station's slot where a device heats the vial
        standing there (a heating block), with its temperatures."""
        return {
            d.place: d.limits["temperature"]
            for d in self.devices.values()
            if Capability.HEATS in d.capabilities
            and d.place not in (None, self.station_slot)
            and "temperature" in d.limits
        }

    def to_json(self) -> dict[str, Any]:
        """The limits as JSON-able data, e.g. to send them from a workcell's worker."""
        data = asdict(self)
        for key in ("reachable", "sources"):
            data[key] = sorted(data[key])
        data["devices"] = {n: d.to_json() for n, d in self.devices.items()}
        data["reaches"] = {n: sorted(r) for n, r in self.reaches.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabLimits:
        """The limits back from :meth:`to_json`.

        Args:
            data: what :meth:`to_json` gave.
        """
        ranges = {k: Range(**v) for k, v in data.items() if isinstance(v, dict) and "unit" in v}
        sets = {k: frozenset(data[k]) for k in ("reachable", "sources")}
        devices = {n: DeviceFacts.from_json(d) for n, d in data.get("devices", {}).items()}
        reaches = {n: frozenset(r) for n, r in data.get("reaches", {}).items()}
        return cls(**{**data, **ranges, **sets, "devices": devices, "reaches": reaches})

    @classmethod
    async def read(
        cls,
        arms: Sequence[RoboticArm],
        station: SynthesisStation,
        spectrometer: Spectrometer,
        *,
        sources: frozenset[str],
        waste: str,
        station_slot: str,
        spectrometer_holder: str,
        analyser_holder: str | None = None,
        devices: dict[str, DeviceFacts] | None = None,
    ) -> LabLimits:
        """Read every limit from the connected devices.

        Args:
            arms: the connected arms.
            station: the connected synthesis station.
            spectrometer: the connected spectrometer.
            sources: where new vials may be taken from (the racks).
            waste: where used vials go.
            station_slot: the station's vial slot.
            spectrometer_holder: the spectrometer's cuvette holder.
            analyser_holder: the analyser's vial holder, if the lab has one.
            devices: what each device declares of itself, by name.
        """
        stock = {}
        for pump in station.pumps.values():
            stock[pump.reagent] = await pump.level.get_value()
        any_pump = next(iter(station.pumps.values()))
        return cls(
            reachable=frozenset(p for arm in arms for p in arm.reachable),
            sources=sources,
            waste=waste,
            station_slot=station_slot,
            spectrometer_holder=spectrometer_holder,
            vial_capacity=station.vial_capacity,
            temperature=station.heater.limits,
            stir_speed=station.stirrer.limits,
            dispense_rate=any_pump.rate_range,
            integration=spectrometer.integration.limits,
            stock_ml=stock,
            analyser_holder=analyser_holder,
            devices=devices or {},
            reaches={arm.name: arm.reachable for arm in arms},
        )


def _in_range(value: pint.Quantity, limits: Range) -> str | None:
    try:
        m = float(value.m_as(limits.unit))
    except pint.DimensionalityError:
        return f"'{quantity_text(value)}' is not convertible to {unit_symbol(limits.unit)}"
    if not limits.low <= m <= limits.high:
        return f"'{quantity_text(value)}' is outside the device limit {limits}"
    return None


class NoDeviceFor(ValueError):
    """No device, or no single device, can run a step.

    Args:
        field: the step's field at fault ('' for the step as a whole).
        message: what is wrong, in words.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def device_for(step: PluginStep, devices: Mapping[str, DeviceFacts]) -> str:
    """The device a step of an installed package runs on: the one it names, or the lab's
    only device with the capability it needs; :class:`NoDeviceFor` saying what to do.

    Args:
        step: the step.
        devices: the lab's devices by name, with what they declare.
    """
    needs = load_step_kind(step.step).needs
    able = [n for n, d in devices.items() if needs in d.capabilities]
    if step.device is not None:
        if step.device not in devices:
            raise NoDeviceFor("device", f"no device {step.device!r}; devices are {sorted(devices)}")
        if step.device not in able:
            raise NoDeviceFor(
                "device",
                f"{step.device} cannot do a {step.step} step (it needs a device that "
                f"{needs}; here {', '.join(able) or 'none'} can)",
            )
        return step.device
    if not able:
        raise NoDeviceFor(
            "", f"a {step.step} step needs a device that {needs}, and this lab has none"
        )
    if len(able) > 1:
        raise NoDeviceFor("device", f"name which of {', '.join(able)} does this {step.step} step")
    return able[0]


def _plugin_step_problems(
    step: PluginStep, lab: LabLimits, vial_at: str | None
) -> list[tuple[str, str]]:
    try:
        name = device_for(step, lab.devices)
    except NoDeviceFor as err:
        return [(err.field, str(err))]
    kind, facts = load_step_kind(step.step), lab.devices[name]
    found = []
    if kind.at_device and vial_at != facts.place:
        found.append(("", f"needs the vial at {facts.place!r} (it is at {vial_at!r})"))
    found += kind.problems(step.fields, {"limits": facts.limits, "place": facts.place})
    return found


def preflight(protocol: Protocol, lab: LabLimits) -> None:
    """Raise :class:`PreflightError` listing every problem, or return quietly.

    Args:
        protocol: a concrete protocol.
        lab: the limits read from the lab's devices (:meth:`LabLimits.read`).
    """
    problems: list[Violation] = []

    def bad(path: str, message: str | None) -> None:
        if message:
            problems.append(Violation(path, message))

    vial_at: str | None = None  # where this trial's vial is
    volume_ml = 0.0
    for i, step in enumerate(protocol.steps):
        path = f"steps.{i}"
        if isinstance(step, Transfer | Discard):
            source = step.source
            destination = step.destination if isinstance(step, Transfer) else lab.waste
            for where, place in (("source", source), ("destination", destination)):
                if place not in lab.reachable:
                    bad(
                        f"{path}.{where}",
                        f"unknown or unreachable location {place!r}; "
                        f"known: {sorted(lab.reachable)}",
                    )
            if vial_at is None and source not in lab.sources:
                bad(
                    f"{path}.source",
                    f"no vial at {source!r} yet; the first transfer must "
                    f"take a fresh vial from {sorted(lab.sources)}",
                )
            elif vial_at is not None and source != vial_at:
                bad(f"{path}.source", f"the vial is at {vial_at!r}, not {source!r}")
            both = {source, destination} <= lab.reachable
            if both and len(lab.reaches) > 1 and lab.arm_for(source, destination) is None:
                bad(
                    path,
                    f"no arm reaches both {source!r} and {destination!r} (reaches: "
                    + "; ".join(f"{n}: {', '.join(sorted(r))}" for n, r in lab.reaches.items())
                    + "); go through a place both reach",
                )
            vial_at = None if destination == lab.waste else destination
        elif isinstance(step, Heat) and vial_at != lab.station_slot:
            heated = lab.heated_places()
            if vial_at in heated:
                bad(f"{path}.temperature", _in_range(step.temperature, heated[vial_at]))
            else:
                where = " or ".join(repr(p) for p in (lab.station_slot, *heated))
                bad(path, f"needs the vial at {where} (it is at {vial_at!r})")
        elif isinstance(step, Dispense | Heat | Stir):
            if vial_at != lab.station_slot:
                bad(path, f"needs the vial at {lab.station_slot!r} (it is at {vial_at!r})")
            if isinstance(step, Dispense):
                if step.reagent not in lab.stock_ml:
                    bad(
                        f"{path}.reagent",
                        f"unknown reagent {step.reagent!r}; pumps hold {sorted(lab.stock_ml)}",
                    )
                ml = float(step.volume.m_as("mL"))
                if ml < 0:
                    bad(f"{path}.volume", f"negative volume '{quantity_text(step.volume)}'")
                volume_ml += ml
                if step.rate is not None:
                    bad(f"{path}.rate", _in_range(step.rate, lab.dispense_rate))
            elif isinstance(step, Heat):
                bad(f"{path}.temperature", _in_range(step.temperature, lab.temperature))
            else:
                bad(f"{path}.speed", _in_range(step.speed, lab.stir_speed))
                bad(f"{path}.duration", None if step.duration.m >= 0 else "negative duration")
        elif isinstance(step, Measure):
            holders = lab.spectrometers()
            if vial_at not in holders:
                where = " or ".join(repr(h) for h in holders)
                bad(path, f"needs the vial at {where} (it is at {vial_at!r})")
            integration = holders.get(vial_at or "", lab.integration)
            bad(f"{path}.integration_time", _in_range(step.integration_time, integration))
        elif isinstance(step, Analyse):
            if lab.analyser_holder is None:
                bad(path, "this lab has no analyser")
            elif vial_at != lab.analyser_holder:
                bad(path, f"needs the vial at {lab.analyser_holder!r} (it is at {vial_at!r})")
        elif isinstance(step, Wait) and step.duration.m < 0:
            bad(f"{path}.duration", "negative duration")
        elif isinstance(step, PluginStep):
            for where, message in _plugin_step_problems(step, lab, vial_at):
                bad(f"{path}.{where}" if where else path, message)
    if protocol.on_plate:
        for path, message in well_problems(protocol, PlateDevices.of(lab.devices)):
            bad(path, message)
    elif volume_ml > lab.vial_capacity.high + 1e-9:
        bad(
            "steps",
            f"dispenses {volume_ml:.3g} mL in all; a vial holds {lab.vial_capacity.high:g} mL",
        )
    for reagent, used in protocol.reagent_volumes().items():
        stock, ml = lab.stock_ml.get(reagent), float(used.m_as("mL"))
        if stock is not None and ml > stock + 1e-9:
            bad("steps", f"needs {ml:.3g} mL of {reagent}, stock is {stock:.3g} mL")
    if vial_at not in (None, lab.waste):
        bad(
            "steps",
            f"the vial is left at {vial_at!r}; end with a discard or a transfer to a free place",
        )
    if problems:
        raise PreflightError(protocol.name, problems)
