"""Plate instruments through PyLabRobot, registered as device kinds (entry-point group
``sdl_lab.devices``) like every other: ``pylabrobot_liquid_handler`` (its deck and
labware described in the lab file, checked before anything moves) and
``pylabrobot_plate_reader`` (which reads the handler's plate). The backend is the lab
file's (``transport: {type: pylabrobot, backend: ...}``); a simulated lab gives each the
simulator of ``simulators.plates`` behind PyLabRobot's own interfaces."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices import Capability, InstrumentDevice, Range
from devices._plr import PlrDriver, labware_factory
from devices.liquid_handler import Labware, LiquidHandler, deck_limits
from devices.plate_reader import PlateReader
from lab.errors import ConfigError, FieldProblems
from lab.files.device_kinds import DeviceKind, DeviceSettings, SimulatedParts, Wire
from lab.files.diagnostics_file import FractionLevels
from lab.files.lab_file import _RangeConfig
from lab.files.transports import PylabrobotTransportConfig
from protocols.fields import Length, Name, Volume


class ReservoirWell(BaseModel):
    """What one well of a reservoir holds when the lab starts."""

    model_config = ConfigDict(extra="forbid")

    reagent: Name = Field(description="a reagent of the lab file's reagents")
    volume: Volume = Field(description="how much of it, e.g. '12 mL'")


class LabwareConfig(BaseModel):
    """One piece of labware on the deck: a tip rack, a reservoir or a plate."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        description="PyLabRobot's name of it, e.g. cor_96_wellplate_360uL_Fb, "
        "hamilton_96_tiprack_300uL, nest_12_troughplate_15000uL_Vb"
    )
    slot: int | None = Field(None, ge=1, le=12, description="its slot on an OT-2 deck (1-12)")
    location: tuple[Length, Length, Length] | None = Field(
        None, description="where it stands on a deck without slots: x, y, z"
    )
    contents: dict[str, ReservoirWell] = Field(
        {}, description="a reservoir's wells (A1, A2, ...) and what each holds"
    )

    @model_validator(mode="after")
    def _placed_once(self) -> LabwareConfig:
        if (self.slot is None) == (self.location is None):
            raise ValueError("give its slot (an OT-2 deck) or its location, not both")
        return self


class HandlerDiagnostics(BaseModel):
    """What `lab diagnose` judges a liquid handler by: a dispense check read back by the
    lab's plate reader (``volume`` and twice it of ``dye``, each made up to ``total``
    with ``diluent`` in an empty well: the second must read twice the first)."""

    model_config = ConfigDict(extra="forbid")

    dye: Name | None = Field(None, description="the reagent dispensed (none: check skipped)")
    diluent: Name | None = Field(None, description="what makes each well up to total")
    volume: Volume = Field("10 uL", validate_default=True, description="the first dispense")
    total: Volume = Field("200 uL", validate_default=True, description="each well's volume")
    wavelength: Length = Field("600 nm", validate_default=True, description="where it is read")
    linearity: FractionLevels = Field(
        FractionLevels(warn="5 %", fail="10 %"),
        description="how far the double dispense reads from twice the single",
    )


class LiquidHandlerSettings(DeviceSettings):
    """A liquid handler through PyLabRobot: its deck and the labware on it."""

    deck: str = Field("OTDeck", description="PyLabRobot's deck class: OTDeck, STARDeck, ...")
    channels: int = Field(1, ge=1, le=16, description="pipetting channels (one is used)")
    labware: dict[Name, LabwareConfig] = Field(
        min_length=1, description="name -> labware on the deck: tip racks, reservoirs, plates"
    )
    diagnostics: HandlerDiagnostics = Field(HandlerDiagnostics())

    @model_validator(mode="after")
    def _deck_holds_it(self) -> LiquidHandlerSettings:
        problems = []
        slots: dict[int, str] = {}
        for name, item in self.labware.items():
            try:
                resource = labware_factory(item.type)(name)
            except ValueError as err:
                problems.append(f"labware.{name}.type: {err}")
                continue
            if item.slot is not None:
                if item.slot in slots:
                    problems.append(
                        f"labware.{name}.slot: slot {item.slot} holds {slots[item.slot]} already"
                    )
                slots[item.slot] = name
                if self.deck != "OTDeck":
                    problems.append(
                        f"labware.{name}.slot: a {self.deck} has no slots; give its location"
                    )
            for well, held in item.contents.items():
                problems += _reservoir_problems(name, resource, well, held)
        if problems:
            raise FieldProblems(problems)
        return self


def _reservoir_problems(name: str, resource: Any, well: str, held: ReservoirWell) -> list[str]:
    where = f"labware.{name}.contents.{well}"
    try:
        container = resource.get_item(well)
    except (IndexError, KeyError, ValueError, AttributeError):
        return [f"{where}: {name} has no well {well!r}"]
    capacity = float(container.max_volume)
    volume = float(held.volume.m_as("uL"))
    if volume > capacity:
        return [
            f"{where}.volume: {volume / 1000:g} mL is more than the well holds "
            f"({capacity / 1000:.4g} mL)"
        ]
    return []


class WavelengthRange(_RangeConfig):
    """The wavelengths a plate reader reads: min below max."""

    unit = "nm"
    min: Length
    max: Length


class ReaderDiagnostics(BaseModel):
    """What `lab diagnose` judges a plate reader by: its empty wells (the blank, read
    where no trial has been) must read near zero."""

    model_config = ConfigDict(extra="forbid")

    blank_wells: int = Field(4, ge=1, le=96, description="empty wells read")
    wavelengths: list[Length] = Field(
        ["450 nm", "600 nm"],
        min_length=1,
        validate_default=True,
        description="where the blank is read",
    )
    blank: FractionLevels = Field(
        FractionLevels(warn="0.05 dimensionless", fail="0.1 dimensionless"),
        description="the largest absorbance of an empty well (absorbance units, dimensionless)",
    )


class PlateReaderSettings(DeviceSettings):
    """An absorbance plate reader through PyLabRobot, reading the plate a liquid handler
    fills (set on it by hand or by the handler's gripper)."""

    plate: Name = Field(description="the plate it reads: a plate of a liquid handler's labware")
    wavelengths: WavelengthRange = Field(
        WavelengthRange(min="230 nm", max="1000 nm"),
        description="the wavelengths it reads",
    )
    diagnostics: ReaderDiagnostics = Field(ReaderDiagnostics())


def _backend(settings: DeviceSettings, wire: Wire) -> Any:
    """The simulator a simulated lab hands the wire, or the lab file's backend made with
    its options; :class:`ConfigError` naming the field if it cannot be made."""
    if wire.simulator is not None:
        return wire.simulator
    transport = settings.transport
    assert isinstance(transport, PylabrobotTransportConfig)  # LabConfig checked the kind's
    module, _, cls = transport.backend.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)(**transport.options)
    except Exception as err:  # a library's code: any failure is the lab file's to fix
        raise ConfigError(
            f"devices.{wire.name}.transport",
            [f"backend {transport.backend} cannot be made: {type(err).__name__}: {err}"],
        ) from None


def _labware(name: str, item: LabwareConfig) -> Labware:
    location = None if item.location is None else tuple(float(q.m_as("mm")) for q in item.location)
    return Labware(
        name,
        item.type,
        item.slot,
        location,  # type: ignore[arg-type]
        {w: (held.reagent, float(held.volume.m_as("uL"))) for w, held in item.contents.items()},
    )


def _handlers(lab: Any) -> dict[str, LiquidHandlerSettings]:
    return {
        n: s
        for n in lab.package_devices
        if isinstance(s := lab.settings_of(n), LiquidHandlerSettings)
    }


def plate_wells(lab: Any) -> tuple[str, list[str]]:
    """The plate a plate campaign fills (the first plate reader's) and its wells in the
    handler's order (down each column: A1, B1, ..., H1, A2, ...); ``ValueError`` if the
    lab has no plate reader.

    Args:
        lab: the lab file (``LabConfig``).
    """
    for name in lab.package_devices:
        settings = lab.settings_of(name)
        if isinstance(settings, PlateReaderSettings):
            handler = next(h for h in _handlers(lab).values() if settings.plate in h.labware)
            plate = labware_factory(handler.labware[settings.plate].type)(settings.plate)
            return settings.plate, [
                str(plate.get_child_identifier(w)) for w in plate.get_all_items()
            ]
    raise ValueError("this lab has no plate reader: a plate protocol needs one")


class LiquidHandlerKind(DeviceKind):
    """A liquid handler (Hamilton STAR, Opentrons OT-2, Tecan EVO) through PyLabRobot."""

    settings = LiquidHandlerSettings
    device = LiquidHandler
    capabilities = frozenset({Capability.PIPETTES})
    checks = "hw_tests.liquid_handler"
    transports = frozenset({"sim", "pylabrobot"})

    def lab_problems(self, name: str, settings: LiquidHandlerSettings, lab: Any) -> list[str]:
        """Its reservoirs hold reagents the lab knows."""
        return [
            f"devices.{name}.labware.{item}.contents.{well}.reagent: unknown reagent "
            f"{held.reagent!r}; the lab's reagents are {', '.join(sorted(lab.reagents))}"
            for item, labware in settings.labware.items()
            for well, held in labware.contents.items()
            if held.reagent not in lab.reagents
        ]

    def limits(self, settings: LiquidHandlerSettings) -> dict[str, Range]:
        """Its plates' wells, its tips and what its reservoirs hold, as the lab file
        declares them (a connected handler says what is left)."""
        resources = [labware_factory(item.type)(n) for n, item in settings.labware.items()]
        held: dict[str, float] = {}
        for item in settings.labware.values():
            for content in item.contents.values():
                held[content.reagent] = held.get(content.reagent, 0.0) + float(
                    content.volume.m_as("uL")
                )
        return deck_limits(resources, held)

    def build(
        self, name: str, settings: LiquidHandlerSettings, wire: Wire, lab: Any
    ) -> InstrumentDevice:
        """The handler with its deck laid out as the lab file says."""
        import pylabrobot.resources as resources
        from pylabrobot.liquid_handling import LiquidHandler as PlrLiquidHandler

        deck = getattr(resources, settings.deck)()
        machine = PlrLiquidHandler(backend=_backend(settings, wire), deck=deck)
        driver = PlrDriver(machine, name, wire.timeout_s if wire.simulator is None else 30.0)
        labware = [_labware(n, item) for n, item in settings.labware.items()]
        return LiquidHandler(driver, labware, name=name)

    def simulator(self, name: str, settings: LiquidHandlerSettings, parts: SimulatedParts) -> Any:
        """PyLabRobot's simulation backend, telling the workcell's plate twin what each
        well receives."""
        from simulators.plates import SimulatedLiquidHandlerBackend

        twin = parts.workcell.plates
        for item, labware in settings.labware.items():
            for well, held in labware.contents.items():
                twin.reservoirs[(item, well)] = held.reagent
        return SimulatedLiquidHandlerBackend(twin, parts.clock)


class PlateReaderKind(DeviceKind):
    """An absorbance plate reader (BMG CLARIOstar, Byonoy, Molecular Devices) through PyLabRobot."""

    settings = PlateReaderSettings
    device = PlateReader
    capabilities = frozenset({Capability.READS_PLATES})
    checks = "hw_tests.plate_reader"
    transports = frozenset({"sim", "pylabrobot"})

    def lab_problems(self, name: str, settings: PlateReaderSettings, lab: Any) -> list[str]:
        """It reads a plate a liquid handler of the lab fills."""
        plates = [
            f"{n}.{item}" for n, handler in _handlers(lab).items() for item in handler.labware
        ]
        if any(p.endswith(f".{settings.plate}") for p in plates):
            return []
        return [
            f"devices.{name}.plate: no liquid handler has labware {settings.plate!r}; "
            f"labware: {', '.join(plates) or 'none'}"
        ]

    def limits(self, settings: PlateReaderSettings) -> dict[str, Range]:
        """The wavelengths it reads."""
        return {"wavelength": settings.wavelengths.range()}

    def build(
        self, name: str, settings: PlateReaderSettings, wire: Wire, lab: Any
    ) -> InstrumentDevice:
        """The reader with the handler's plate in it."""
        from pylabrobot.plate_reading import PlateReader as PlrPlateReader

        plate = next(
            _labware(settings.plate, h.labware[settings.plate])
            for h in _handlers(lab).values()
            if settings.plate in h.labware
        )
        # its footprint (mm) matters only on a deck, where a gripper would place plates
        machine = PlrPlateReader(name, 130.0, 90.0, 50.0, backend=_backend(settings, wire))
        driver = PlrDriver(machine, name, wire.timeout_s if wire.simulator is None else 30.0)
        return PlateReader(driver, plate, settings.wavelengths.range(), name=name)

    def simulator(self, name: str, settings: PlateReaderSettings, parts: SimulatedParts) -> Any:
        """A reader of what the twin's chemistry says each well holds."""
        from simulators.plates import SimulatedPlateReaderBackend

        reader = SimulatedPlateReaderBackend(
            parts.workcell.plates, parts.chemistry, parts.clock, seed=parts.settings.noise_seed
        )
        reader.unreadable = set(parts.settings.unreadable_wells)
        return reader


__all__ = [
    "LabwareConfig",
    "LiquidHandlerKind",
    "LiquidHandlerSettings",
    "PlateReaderKind",
    "PlateReaderSettings",
    "ReservoirWell",
]
