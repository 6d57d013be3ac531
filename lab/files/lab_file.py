"""The lab file: which devices, over which transport, where things sit, what is stocked."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import numpy as np
import pint
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    IPvAnyAddress,
    PrivateAttr,
    SerializeAsAny,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from devices import Analyser, Capability, Range, parse_quantity, quantity_text
from lab.errors import FieldProblems, problems_of
from lab.files.device_kinds import DeviceKind, DeviceSettings, load_device_kind
from lab.files.diagnostics_file import (
    ArmDiagnostics,
    Degradation,
    ExpectedIdentity,
    SpectrometerDiagnostics,
    StationDiagnostics,
)
from lab.files.notifications_file import NotificationsConfig
from lab.files.plugins import load_callable
from lab.files.provenance import FileRecord
from lab.files.transports import (
    EpicsTransportConfig,
    OpcuaTransportConfig,
    SerialTransportConfig,
    SilaTransportConfig,
    SimTransport,
)
from lab.files.yaml_reading import load_yaml_model
from protocols import LabLimits
from protocols._name_field import Name
from protocols._quantity_field import (
    Duration,
    Length,
    Speed,
    Temperature,
    Timeout,
    Volume,
    VolumeRate,
)
from protocols.preflight import DeviceFacts

log = logging.getLogger(__name__)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: an arm coordinate in mm: within 100 m of the arm's origin
Coordinate = Annotated[float, Field(ge=-100_000, le=100_000)]


class LocationConfig(_Model):
    """A place the arm can put a vial; one vial at a time."""

    xyz_mm: tuple[Coordinate, Coordinate, Coordinate] = Field(description="arm coordinates in mm")
    role: Literal["place", "source", "waste"] = Field(
        "place", description="source: a rack of fresh vials; waste: where vials end"
    )
    vials: int | None = Field(
        None,
        ge=1,
        description="a rack (role: source): how many fresh vials it holds when full; given, "
        "the lab counts the vials taken and pauses a campaign before a trial finds it empty",
    )

    @model_validator(mode="after")
    def _vials_in_a_rack(self) -> LocationConfig:
        if self.vials is not None and self.role != "source":
            raise ValueError("vials: only a rack (role: source) holds fresh vials")
        return self


class ReagentConfig(_Model):
    """A reagent on one of the station's pumps."""

    stock: Volume = Field(description="what the reservoir holds at the start")
    low: Volume | None = Field(
        None,
        description="below this level the lab tells people (consumable_low) so that it is "
        "refilled before a campaign pauses for it",
    )


class _RangeConfig(_Model):
    """``min``..``max`` of a device, in the lab file's units; an inverted or empty range is
    refused when the file loads, not found when a device is asked to honour it."""

    unit: ClassVar[str]
    min: Any
    max: Any

    @model_validator(mode="after")
    def _ordered(self) -> _RangeConfig:
        if self.min.m_as(self.unit) >= self.max.m_as(self.unit):
            raise ValueError(
                f"min '{quantity_text(self.min)}' must be below max '{quantity_text(self.max)}'"
            )
        return self

    def range(self) -> Range:
        return Range(float(self.min.m_as(self.unit)), float(self.max.m_as(self.unit)), self.unit)


class TemperatureRange(_RangeConfig):
    """The temperatures the heater may be set to: min below max."""

    unit = "degC"
    min: Temperature
    max: Temperature


class SpeedRange(_RangeConfig):
    """The stir speeds (0, off, is always allowed): min below max."""

    unit = "rpm"
    min: Speed
    max: Speed


class RateRange(_RangeConfig):
    """The dispense rates of the pumps: min below max."""

    unit = "mL/min"
    min: VolumeRate
    max: VolumeRate


class DurationRange(_RangeConfig):
    """The integration times of the detector: min below max."""

    unit = "ms"
    min: Duration
    max: Duration


class ArmConfig(DeviceSettings):
    """A robotic arm with a gripper: carries one vial between locations."""

    kind: Literal["robotic_arm"]
    home: Name = Field(description="the location the arm rests at")
    reach: list[Name] = Field(
        min_length=1, description="the locations it can reach (station slot and holder included)"
    )
    move_timeout: Timeout = Field(
        "120 s",
        validate_default=True,
        description="the longest a move, grip or release may take before the arm is "
        "reported silent (lab time: divided by simulation.clock_speed)",
    )
    diagnostics: ArmDiagnostics = Field(ArmDiagnostics(), description="`lab diagnose` levels")
    prefix: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_:.\-]+$",
        description="over EPICS (a sample changer on a motor record): the PV prefix; its "
        "motor record is <prefix>STAGE",
    )
    positions: dict[Name, Length] | None = Field(
        None,
        description="over EPICS: each place of its reach as a position along the stage's "
        "axis, e.g. {rack: 0 mm, spectrometer: 120 mm}",
    )

    @model_validator(mode="after")
    def _stage_addressed(self) -> ArmConfig:
        """An arm over EPICS is a stage: it needs its PVs and where each place is."""
        if self.transport.type != "epics":
            if self.prefix is not None or self.positions is not None:
                raise FieldProblems(["prefix, positions: only for an arm over EPICS"])
            return self
        problems = []
        if self.prefix is None:
            problems.append("prefix: required over EPICS (the PV prefix of the stage)")
        missing = [p for p in self.reach if p not in (self.positions or {})]
        if missing:
            problems.append(f"positions: give a position for each place of its reach: {missing}")
        if problems:
            raise FieldProblems(problems)
        return self


#: the room temperatures a station's safe state may set its heater to
MIN_AMBIENT_C, MAX_AMBIENT_C = 5.0, 40.0
#: interlocks read less often than this are not being watched
MAX_WATCHDOG_PERIOD_S = 5.0


class StationConfig(DeviceSettings):
    """A synthesis station: pumps, a heated block and a stirrer around one vial slot."""

    kind: Literal["synthesis_station"]
    ambient: Temperature = Field(
        "25 degC", validate_default=True, description="heater setpoint of the safe state"
    )
    safe_state_patience: Timeout = Field(
        "10 s",
        validate_default=True,
        description="how long (real time) the safe state is retried, through reconnects, "
        "before the station is reported LEFT UNSAFE",
    )
    heartbeat: Timeout = Field(
        "10 s",
        validate_default=True,
        description="real time the station may hear nothing from the lab before it stops "
        "itself and latches, as after an emergency stop (the lab sends four per heartbeat; "
        "set the controller's watchdog of a real station to this)",
    )
    slot: Name = Field(description="the location of its vial slot: dispense, heat, stir act there")
    pumps: dict[Annotated[int, Field(ge=0, le=99)], Name] = Field(
        min_length=1, description="pump number -> reagent"
    )
    temperature: TemperatureRange
    stir_speed: SpeedRange
    dispense_rate: RateRange
    diagnostics: StationDiagnostics = Field(
        StationDiagnostics(), description="`lab diagnose` levels"
    )

    @model_validator(mode="after")
    def _ambient_is_safe(self) -> StationConfig:
        """The safe state sets the heater to ``ambient``: a room's temperature the heater
        may be set to, or the "safe" state would heat the block."""
        ambient = float(self.ambient.m_as("degC"))
        low, high = self.temperature.range().low, self.temperature.range().high
        if not MIN_AMBIENT_C <= ambient <= MAX_AMBIENT_C:
            raise FieldProblems(
                [
                    f"ambient: {ambient:g} degC is no room's temperature; the safe state sets "
                    f"the heater to it (between {MIN_AMBIENT_C:g} and {MAX_AMBIENT_C:g} degC)"
                ]
            )
        if not low <= ambient <= high:
            raise FieldProblems(
                [
                    f"ambient: {ambient:g} degC is outside the heater's temperature {low:g}..{high:g} degC"
                ]
            )
        return self


class SpectrometerConfig(DeviceSettings):
    """A UV-Vis spectrometer measuring the vial in its cuvette holder."""

    kind: Literal["spectrometer"]
    holder: Name = Field(description="the location of its cuvette holder: measure acts there")
    integration_time: DurationRange
    diagnostics: SpectrometerDiagnostics = Field(
        SpectrometerDiagnostics(), description="`lab diagnose` levels"
    )


class AnalyserConfig(DeviceSettings):
    """A chromatograph-like analyser (HPLC, GC) reporting named quantities of the vial in
    its holder, e.g. yield and purity: any of them can be a campaign's objective."""

    kind: Literal["analyser"]
    holder: Name = Field(description="the location of its sample holder: analyse acts there")
    fields: dict[str, str] = Field(
        min_length=1,
        description="what one analysis reports: name -> unit, e.g. {yield: percent}; "
        "checked against the instrument's method when it connects",
    )
    run_timeout: Timeout = Field(
        "15 min",
        validate_default=True,
        description="the longest one analysis may take (lab time: divided by simulation.clock_speed "
        "in a simulation)",
    )

    @field_validator("fields")
    @classmethod
    def _units(cls, value: dict[str, str]) -> dict[str, str]:
        for name, unit in value.items():
            if not name.isidentifier():
                raise ValueError(f"{name!r}: a field name is a word (letters, digits, _)")
            if Analyser.taken(name):
                raise ValueError(
                    f"{name!r} is a name the analyser device uses itself (as in "
                    f"analyser.{name}); call the field something else, e.g. {name}_value"
                )
            try:
                pint.get_application_registry().Unit(unit)
            except (pint.UndefinedUnitError, ValueError, TypeError):
                raise ValueError(f"{name}: {unit!r} is not a unit") from None
        return value


class PluginDevice(BaseModel):
    """A device of a kind an installed package adds (``kind:``, its entry point's name),
    or named by import path (``class: package.module:Kind``); its other settings are
    the kind's own, checked by its model."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: str | None = Field(None, description="an installed device kind (entry point)")
    class_: str | None = Field(
        None, alias="class", description="package.module:Kind of a device kind"
    )
    settings: SerializeAsAny[DeviceSettings] = Field(
        description="its settings (written beside kind: in the file)"
    )

    @model_validator(mode="before")
    @classmethod
    def _own_settings(cls, data: Any, info: ValidationInfo) -> Any:
        """Read the entry's settings with its kind's model, naming each field at fault."""
        if not isinstance(data, dict) or "settings" in data:
            return data
        kind, class_path = data.get("kind"), data.get("class")
        try:
            found = load_device_kind(kind, class_path)
        except ValueError as err:
            raise FieldProblems([f"{'class' if class_path else 'kind'}: {err}"]) from None
        own = {k: v for k, v in data.items() if k not in ("kind", "class")}
        try:
            settings = found.settings.model_validate(own, context=info.context)
        except ValidationError as err:
            raise FieldProblems(problems_of(err, own)) from None
        return {"kind": kind, "class": class_path, "settings": settings}

    @property
    def transport(self) -> Any:
        """How the instrument is reached."""
        return self.settings.transport

    @property
    def stale_after(self) -> Any:
        """A reading older than this is stale."""
        return self.settings.stale_after

    @property
    def identity(self) -> ExpectedIdentity:
        """What `lab diagnose` expects the instrument to report."""
        return self.settings.identity

    def load(self) -> DeviceKind:
        """Its device kind (loaded when the file was read, so this cannot fail)."""
        return load_device_kind(self.kind, self.class_)


#: the kinds whose settings the lab file's schema spells out; any other kind is a package's
BUILT_IN_KINDS = ("robotic_arm", "synthesis_station", "spectrometer", "analyser")


def _kind_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if kind in BUILT_IN_KINDS and not isinstance(value, PluginDevice) else "plugin"


DeviceConfig = Annotated[
    Annotated[ArmConfig, Tag("robotic_arm")]
    | Annotated[StationConfig, Tag("synthesis_station")]
    | Annotated[SpectrometerConfig, Tag("spectrometer")]
    | Annotated[AnalyserConfig, Tag("analyser")]
    | Annotated[
        PluginDevice,
        Tag("plugin"),
        WithJsonSchema(
            {
                "type": "object",
                "description": "a device of a kind an installed package adds: kind: its "
                "name, or class: package.module:Kind; its own settings beside it",
                "properties": {
                    "kind": {"type": "string", "not": {"enum": list(BUILT_IN_KINDS)}},
                    "class": {"type": "string", "pattern": "^[\\w.]+:\\w+$"},
                },
                "oneOf": [{"required": ["kind"]}, {"required": ["class"]}],
            }
        ),
    ],
    Discriminator(_kind_tag),
]


class InterlockConfig(_Model):
    """A condition watched while the lab runs: an enclosure door, a leak sensor, an
    over-temperature. When it trips, the lab pauses between steps (and goes on by itself
    once it clears) or stops everything at once; a signal that cannot be read for its
    device's ``stale_after`` counts as tripped (a stale heartbeat is never taken for safe)."""

    signal: str = Field(
        description="a device's signal by its path, e.g. station.door_open, station.leak, "
        "station.heater.temperature"
    )
    above: str | None = Field(
        None, description="trips above this quantity (e.g. '95 degC'); without it, when true"
    )
    action: Literal["pause", "emergency_stop"] = Field(
        "emergency_stop",
        description="pause: at the next step boundary, until it clears; emergency_stop: "
        "every device at once, latched until staff reset",
    )

    @field_validator("above")
    @classmethod
    def _a_quantity(cls, value: str | None) -> str | None:
        if value is not None:
            parse_quantity(value)
        return value


class DeviceSimulation(_Model):
    """How one device's simulator behaves; each setting applies to the kinds it names."""

    #: setting -> the device kinds it applies to
    APPLIES_TO: ClassVar[dict[str, tuple[str, ...]]] = {
        "speed_mm_s": ("robotic_arm",),
        "noise_seed": ("spectrometer", "analyser", "pylabrobot_plate_reader"),
        "run_time": ("analyser",),
        "noise": ("analyser",),
        "unreadable_wells": ("pylabrobot_plate_reader",),
    }

    speed_mm_s: float = Field(250.0, gt=0, le=1e5, description="a robotic arm's speed")
    noise_seed: int = Field(
        0,
        ge=0,
        le=2**32 - 1,
        description="a spectrometer's, an analyser's or a plate reader's noise",
    )
    run_time: Duration = Field("5 min", validate_default=True, description="one analysis")
    noise: float = Field(
        0.5, ge=0, description="an analyser's standard deviation, in each field's unit"
    )
    unreadable_wells: list[Annotated[str, Field(pattern=r"^[A-P]([1-9]|1[0-9]|2[0-4])$")]] = Field(
        [], description="a plate reader's wells that give no reading (a bubble, a scratch)"
    )


class Simulation(_Model):
    """The simulated lab: its clock, its chemistry, its instruments' quirks and ageing."""

    clock_speed: float = Field(100.0, gt=0, le=1e6, description="simulated seconds per real second")
    chemistry: str = Field(
        "simulators.chemistry:DyeChemistry",
        description="package.module:callable giving the ground-truth spectrum; "
        "imported and run only in a simulated lab",
    )
    degradations: list[Degradation] = Field(
        [],
        description="instruments that have aged or drifted, to see `lab diagnose` catch them",
    )
    devices: dict[Name, DeviceSimulation] = Field(
        {}, description="device name -> how its simulator behaves (defaults otherwise)"
    )

    def device(self, name: str) -> DeviceSimulation:
        """The simulator settings of device ``name`` (the defaults if none are given)."""
        return self.devices.get(name) or DeviceSimulation()


#: settings of the simulation that lab files once held at the top level or in a device
_OLD_PLACES = ("clock_speed", "chemistry", "degradations")


def _move_simulation_settings(data: dict[str, Any]) -> list[str]:
    """Move simulation settings from where older lab files kept them into ``simulation:``
    (the nested mappings changed are copies: the caller's are left as they were); returns
    the old places moved from. A setting in both places is left, for the model to refuse
    as unknown."""
    simulation = data.get("simulation") or {}
    if not isinstance(simulation, dict):
        return []  # the model names the field
    devices, settings = data.get("devices"), simulation.get("devices") or {}
    if not isinstance(settings, dict):
        return []
    simulation, settings = dict(simulation), dict(settings)
    moved = [key for key in _OLD_PLACES if key in data and key not in simulation]
    simulation.update({key: data.pop(key) for key in moved})
    for name, device in dict(devices).items() if isinstance(devices, dict) else []:
        own = settings.get(name, {})
        if not isinstance(device, dict) or not isinstance(own, dict):
            continue
        found = [k for k in DeviceSimulation.APPLIES_TO if k in device and k not in own]
        if found:
            settings[name] = {**own, **{k: device[k] for k in found}}
            data["devices"] = {
                **data["devices"],
                name: {k: v for k, v in device.items() if k not in found},
            }
            moved += [f"devices.{name}.{k}" for k in found]
    if moved:
        data["simulation"] = {**simulation, **({"devices": settings} if settings else {})}
    return moved


M = TypeVar("M", bound=BaseModel)

#: what a ``chemistry:`` callable is given (see ``simulators.chemistry.GroundTruth``)
GROUND_TRUTH_ARGUMENTS = ("composition", "conditions", "wavelengths")


class LabConfig(_Model):
    """The lab file: which devices, over which transport, where things sit, what is stocked."""

    name: Name = Field(description="the lab's name; its default store is runs/<name>/")
    #: the file as it was read, if any (a lab may be configured in Python)
    _file: FileRecord | None = PrivateAttr(None)
    simulated: bool = Field(
        True, description="run the instruments' simulators; false for real hardware"
    )
    simulation: Simulation = Field(
        default_factory=lambda: Simulation(),
        description="how the simulated lab behaves (read only when simulated is true)",
    )
    vial_capacity: Volume
    locations: dict[Name, LocationConfig] = Field(min_length=1, description="name -> place")
    reagents: dict[Name, ReagentConfig] = Field(min_length=1, description="name -> stock")
    devices: dict[Name, DeviceConfig] = Field(
        min_length=1,
        description="name -> device: one arm, one or more synthesis stations (trials run "
        "on them side by side), one spectrometer, at most one analyser, and any devices "
        "of kinds installed packages add (kind: their name, or class: package.module:Kind)",
    )
    interlocks: dict[Name, InterlockConfig] = Field(
        {}, description="name -> a condition that pauses or stops the lab when it trips"
    )
    watchdog_period: Timeout = Field(
        "0.5 s", validate_default=True, description="how often the interlocks are read"
    )
    notifications: NotificationsConfig | None = Field(
        None,
        description="where the lab's events go while nobody watches (webhooks, chat, "
        "e-mail, Apprise), which events go where, quiet hours and rate limits",
    )
    trusted_proxies: list[IPvAnyAddress] = Field(
        [],
        description="addresses of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto the lab server believes; none by default",
    )

    @model_validator(mode="before")
    @classmethod
    def _older_file(cls, data: Any) -> Any:
        """A lab file written before the ``simulation:`` section is read as if its
        settings were there, and told where they belong now."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        moved = _move_simulation_settings(data)
        if moved:
            log.warning(
                "lab %s: %s belong under simulation: now (%s); read from the old place this "
                "time, move them there",
                data.get("name", "?"),
                ", ".join(moved),
                ", ".join(f"simulation.{m}" for m in moved),
            )
        return data

    def file(self) -> FileRecord:
        """The lab file as read (or, for a lab configured in Python, its settings as JSON)."""
        if self._file is not None:
            return self._file
        return FileRecord(f"{self.name}.json", self.model_dump_json(indent=2))

    def kind_of(self, name: str) -> DeviceKind:
        """The device kind of device ``name`` (its package's, or one this project ships)."""
        device = self.devices[name]
        if isinstance(device, PluginDevice):
            return device.load()
        return load_device_kind(device.kind, None)

    def settings_of(self, name: str) -> DeviceSettings:
        """The settings of device ``name``, as its kind's model read them."""
        device = self.devices[name]
        return device.settings if isinstance(device, PluginDevice) else device

    @property
    def package_devices(self) -> list[str]:
        """The devices of kinds that packages add, by name, in the file's order."""
        return [n for n, d in self.devices.items() if isinstance(d, PluginDevice)]

    def facts(self) -> dict[str, DeviceFacts]:
        """What each device declares of itself (capabilities, place, limits), by name."""
        found = {}
        for name in self.devices:
            kind, settings = self.kind_of(name), self.settings_of(name)
            found[name] = DeviceFacts(
                frozenset(kind.capabilities), kind.place(settings), kind.limits(settings)
            )
        return found

    @property
    def spectra_from(self) -> list[str]:
        """The devices whose readings are a trial's spectrum: the spectrometers, then the
        plate readers."""
        readers = [
            n
            for n in self.package_devices
            if Capability.READS_PLATES in self.kind_of(n).capabilities
        ]
        return [n for n, _ in self.spectrometers] + readers

    def one(self, kind: type[M]) -> tuple[str, M]:
        """The first device of a kind, with its name."""
        found = [(n, d) for n, d in self.devices.items() if isinstance(d, kind)]
        return found[0]

    def kind_name(self, name: str) -> str:
        """What kind of device ``name`` is, in a word (its kind's, or its class path)."""
        device = self.devices[name]
        if isinstance(device, PluginDevice):
            return device.kind or device.class_ or "?"
        return device.kind

    @property
    def arm(self) -> tuple[str, ArmConfig]:
        """The first arm's name and configuration."""
        return self.one(ArmConfig)

    @property
    def arms(self) -> list[tuple[str, ArmConfig]]:
        """Each arm's name and configuration, in the file's order."""
        return [(n, d) for n, d in self.devices.items() if isinstance(d, ArmConfig)]

    @property
    def spectrometers(self) -> list[tuple[str, SpectrometerConfig]]:
        """Each spectrometer's name and configuration, in the file's order."""
        return [(n, d) for n, d in self.devices.items() if isinstance(d, SpectrometerConfig)]

    @property
    def stations(self) -> list[tuple[str, StationConfig]]:
        """Each synthesis station's name and configuration, in the file's order."""
        return [(n, d) for n, d in self.devices.items() if isinstance(d, StationConfig)]

    def station_of(self, place: str) -> str | None:
        """The name of the station whose slot is ``place``, if any."""
        return next((n for n, s in self.stations if s.slot == place), None)

    @property
    def spectrometer(self) -> tuple[str, SpectrometerConfig]:
        """The first spectrometer's name and configuration."""
        return self.one(SpectrometerConfig)

    @property
    def analyser(self) -> tuple[str, AnalyserConfig] | None:
        """The analyser's name and configuration, if the lab has one."""
        found = [(n, d) for n, d in self.devices.items() if isinstance(d, AnalyserConfig)]
        return found[0] if found else None

    @property
    def vial_range(self) -> Range:
        """What a vial may hold, as a device limit: 0 mL up to ``vial_capacity``."""
        return Range(0.0, float(self.vial_capacity.m_as("mL")), "mL")

    def declared_limits(self, station: str | None = None) -> LabLimits:
        """What a protocol is checked against, as this file declares it: a campaign beyond
        its lab is refused before any instrument or simulator starts (the connected
        devices' own limits and stock are read, and checked again, once they are up).

        Args:
            station: the synthesis station a protocol will run on; the first if None.
        """
        _, slot_of = next((n, s) for n, s in self.stations if station in (None, n))
        _, spectrometer = self.spectrometer
        return LabLimits(
            reachable=frozenset(p for _, arm in self.arms for p in arm.reach),
            sources=frozenset(self.role("source")),
            waste=self.role("waste")[0],
            station_slot=slot_of.slot,
            spectrometer_holder=spectrometer.holder,
            vial_capacity=self.vial_range,
            temperature=slot_of.temperature.range(),
            stir_speed=slot_of.stir_speed.range(),
            dispense_rate=slot_of.dispense_rate.range(),
            integration=spectrometer.integration_time.range(),
            stock_ml={r: float(self.reagents[r].stock.m_as("mL")) for r in slot_of.pumps.values()},
            analyser_holder=self.analyser[1].holder if self.analyser else None,
            devices=self.facts(),
            reaches={name: frozenset(arm.reach) for name, arm in self.arms},
        )

    def role(self, role: str) -> list[str]:
        """The locations that have ``role`` (``source``, ``waste``, ``place``)."""
        return [n for n, loc in self.locations.items() if loc.role == role]

    def _simulated_devices(self) -> list[str]:
        """Simulator settings name a device of the lab, and one of its kind."""
        problems = []
        for name, settings in self.simulation.devices.items():
            where = f"simulation.devices.{name}"
            device = self.devices.get(name)
            if device is None:
                problems.append(f"{where}: no device {name!r} in devices")
                continue
            for key in sorted(settings.model_fields_set):
                kinds = DeviceSimulation.APPLIES_TO[key]
                if self.kind_name(name) not in kinds:
                    either = (
                        f"{', '.join(kinds[:-1])} or {kinds[-1]}" if len(kinds) > 1 else kinds[0]
                    )
                    problems.append(
                        f"{where}.{key}: a setting of a {either}, and {name} is "
                        f"a {self.kind_name(name)}"
                    )
        return problems

    def _chemistry_problems(self) -> list[str]:
        """A lab file names code to run only where it must: the ground truth of a simulation."""
        if not self.simulated:
            if "chemistry" in self.simulation.model_fields_set:
                return [
                    "simulation.chemistry: only a simulated lab has a chemistry model; remove it"
                ]
            return []
        try:
            chemistry = load_callable(self.simulation.chemistry, GROUND_TRUTH_ARGUMENTS)
        except ValueError as err:
            return [f"simulation.chemistry: {err}"]
        return self._unknown_reagents(chemistry)

    def _unknown_reagents(self, chemistry: Any) -> list[str]:
        """Each reagent asked of the simulated chemistry alone, before anything starts: one
        it cannot simulate would fail the first trial that uses it, at the instrument."""
        ureg = pint.get_application_registry()
        conditions = {
            "temperature": ureg.Quantity(25.0, "degC"),
            "stir_time": ureg.Quantity(0.0, "s"),
            "stir_speed": ureg.Quantity(0.0, "rpm"),
        }
        wavelengths = ureg.Quantity(np.array([400.0, 550.0, 700.0]), "nm")
        problems = []
        for reagent in self.reagents:
            try:
                chemistry({reagent: ureg.Quantity(1.0, "mL")}, conditions, wavelengths)
            except Exception as err:  # user code: any failure is the lab file's problem
                problems.append(
                    f"reagents.{reagent}: the simulated chemistry ({self.simulation.chemistry}) cannot "
                    f"simulate it: {err}"
                )
        return problems

    def _station_problems(self) -> list[str]:
        """Pumps of known reagents; with several stations, each its own slot and the same
        reagents, so any trial can run on any station."""
        problems = []
        first_name, first = self.stations[0]
        for name, station in self.stations:
            for index, reagent in station.pumps.items():
                if reagent not in self.reagents:
                    problems.append(f"devices.{name}.pumps.{index}: unknown reagent {reagent!r}")
            if name != first_name and set(station.pumps.values()) != set(first.pumps.values()):
                problems.append(
                    f"devices.{name}.pumps: offers {sorted(set(station.pumps.values()))}, "
                    f"{first_name} {sorted(set(first.pumps.values()))}; every station needs "
                    "the same reagents, so a trial can run on any of them"
                )
        slots = [s.slot for _, s in self.stations]
        for name, station in self.stations:
            if slots.count(station.slot) > 1:
                problems.append(
                    f"devices.{name}.slot: {station.slot!r} is the slot of another station too"
                )
        return problems

    def _package_device_problems(self, reach: set[str], taken: list[str]) -> list[str]:
        """A package's device speaks a transport its kind knows, and holds its vial at a
        known place of its own that the arm reaches."""
        problems = []
        claimed = {place: "another device" for place in taken}
        for name in self.package_devices:
            kind, settings = self.kind_of(name), self.settings_of(name)
            problems += kind.lab_problems(name, settings, self)
            if settings.transport.type not in kind.transports:
                problems.append(
                    f"devices.{name}.transport: a {type(kind).__name__} speaks "
                    f"{', '.join(sorted(kind.transports))}, not {settings.transport.type}"
                )
            place = kind.place(settings)
            if place is None:
                continue
            if place not in self.locations:
                problems.append(f"devices.{name}: unknown location {place!r}")
            elif place not in reach:
                problems.append(f"{self._reach_field()}: must include {name}'s {place!r}")
            if place in claimed:
                problems.append(
                    f"devices.{name}: {place!r} is where {claimed[place]} holds its vial; "
                    "give each device a place of its own"
                )
            claimed[place] = name
        return problems

    def _reach_field(self) -> str:
        """Where a place no arm reaches is to be added: the arm's reach, or any arm's."""
        if len(self.arms) == 1:
            return f"devices.{self.arms[0][0]}.reach"
        return f"devices: no arm reaches it; an arm's reach ({', '.join(n for n, _ in self.arms)})"

    @staticmethod
    def _holder_problems(holders: list[tuple[str, str]]) -> list[str]:
        """One vial per place: no two devices hold their vials at one location."""
        seen: dict[str, str] = {}
        problems = []
        for place, what in holders:
            if place in seen and not (what.endswith("slot") and seen[place].endswith("slot")):
                problems.append(f"locations.{place}: is the {seen[place]} and the {what}")
            seen.setdefault(place, what)
        return problems

    @model_validator(mode="after")
    def _consistent(self) -> LabConfig:
        problems = self._chemistry_problems()
        if self.watchdog_period.m_as("s") > MAX_WATCHDOG_PERIOD_S:
            problems.append(
                f"watchdog_period: interlocks read every {quantity_text(self.watchdog_period)} are not "
                f"watched; at most {MAX_WATCHDOG_PERIOD_S:g} s"
            )
        if self.simulation.degradations and not self.simulated:
            problems.append(
                "simulation.degradations: only a simulated lab can be degraded on demand"
            )
        problems += self._simulated_devices()
        if not self.arms:
            problems.append("devices: need at least one robotic_arm device, found 0")
        if not self.spectrometers:
            problems.append("devices: need at least one spectrometer device, found 0")
        if not self.stations:
            problems.append("devices: need at least one synthesis_station device, found 0")
        if sum(isinstance(d, AnalyserConfig) for d in self.devices.values()) > 1:
            problems.append("devices: at most one analyser")
        if any(p.startswith("devices:") for p in problems):
            raise FieldProblems(problems)
        known = set(self.locations)
        places = [
            *((f"devices.{n}.home", arm.home) for n, arm in self.arms),
            *((f"devices.{n}.reach", r) for n, arm in self.arms for r in arm.reach),
            *((f"devices.{n}.slot", s.slot) for n, s in self.stations),
            *((f"devices.{n}.holder", s.holder) for n, s in self.spectrometers),
        ]
        holders = [(s.slot, f"{n}'s slot") for n, s in self.stations]
        several = len(self.spectrometers) > 1
        holders += [
            (s.holder, f"{n}'s holder" if several else "holder") for n, s in self.spectrometers
        ]
        if self.analyser is not None:
            places.append((f"devices.{self.analyser[0]}.holder", self.analyser[1].holder))
            holders.append((self.analyser[1].holder, "analyser's holder"))
        problems += [f"{path}: unknown location {p!r}" for path, p in places if p not in known]
        reach = {p for _, arm in self.arms for p in arm.reach}
        for place, path in holders:
            if place in known and place not in reach:
                problems.append(f"{self._reach_field()}: must include the {path} {place!r}")
        problems += self._holder_problems(holders)
        problems += self._station_problems()
        problems += self._package_device_problems(reach, [p for p, _ in holders])
        for name, device in self.devices.items():
            transport = device.transport
            if isinstance(transport, OpcuaTransportConfig):
                if not isinstance(device, StationConfig | PluginDevice):
                    problems.append(
                        f"devices.{name}.transport: only a synthesis_station speaks OPC UA here"
                    )
                if not self.simulated:
                    sec = transport.security
                    if not transport.endpoint:
                        problems.append(
                            f"devices.{name}.transport.endpoint: required for real hardware"
                        )
                    if sec.mode != "None" and not (sec.certificate and sec.private_key):
                        problems.append(
                            f"devices.{name}.transport.security: certificate and "
                            f"private_key are required for mode {sec.mode}"
                        )
            speaks_epics = isinstance(device, PluginDevice | ArmConfig)
            if isinstance(transport, EpicsTransportConfig) and not speaks_epics:
                problems.append(
                    f"devices.{name}.transport: a {device.kind} does not speak EPICS; "
                    "an arm does (a sample changer on a motor record), and kinds of their "
                    "own (epics_heating_block)"
                )
            if not self.simulated and isinstance(transport, SimTransport):
                problems.append(f"devices.{name}.transport: type sim needs simulated: true")
            if (
                not self.simulated
                and isinstance(transport, SerialTransportConfig)
                and not transport.port
            ):
                problems.append(f"devices.{name}.transport.port: required for real hardware")
            unaddressed = isinstance(transport, SilaTransportConfig) and not transport.address
            if not self.simulated and unaddressed:
                problems.append(
                    f"devices.{name}.transport.address: required for real hardware "
                    "(host:port of the SiLA 2 server)"
                )
        for name, interlock in self.interlocks.items():
            owner = interlock.signal.split(".", 1)[0]
            if owner not in self.devices:
                problems.append(
                    f"interlocks.{name}.signal: no device {owner!r}; devices are "
                    f"{sorted(self.devices)}"
                )
        if len(self.role("waste")) != 1:
            problems.append("locations: exactly one location needs role: waste")
        if not self.role("source"):
            problems.append("locations: at least one location needs role: source (a vial rack)")
        if problems:
            raise FieldProblems(problems)
        return self


def load_lab_config(path: str | Path) -> LabConfig:
    """Read and check a lab file; raises :class:`ConfigError` naming the file and every field at fault.

    Args:
        path: the lab file.
    """
    config = load_yaml_model(LabConfig, path, placeholders=False)
    config._file = FileRecord.read(path)
    return config
