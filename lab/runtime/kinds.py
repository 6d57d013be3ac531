"""The four instrument kinds this project ships, registered as device kinds (entry-point
group ``sdl_lab.devices`` in pyproject.toml) exactly as a package registers its own."""

from __future__ import annotations

from typing import Any

import simulators as sim
from devices import (
    Analyser,
    ArmDriver,
    AsciiAnalyserDriver,
    AsciiArmDriver,
    AsciiSpectrometerDriver,
    AsciiStationDriver,
    Capability,
    InstrumentDevice,
    OpcuaStationDriver,
    Range,
    RoboticArm,
    Spectrometer,
    StationDriver,
    SynthesisStation,
)
from devices.epics import EpicsStageDriver
from lab.files.device_kinds import DeviceKind, SimulatedParts, Wire
from lab.files.lab_file import AnalyserConfig, ArmConfig, SpectrometerConfig, StationConfig
from lab.files.transports import EpicsTransportConfig


def _line(wire: Wire) -> Any:
    assert wire.line is not None, f"{wire.name} needs a line transport"
    return wire.line


class RoboticArmKind(DeviceKind):
    """A pick-and-place arm on the ASCII line protocol (docs/protocols/README.md), or a
    sample changer on an EPICS motor record (a stage with a gripper), which carries vials
    between the places along its axis as an arm does."""

    settings = ArmConfig
    device = RoboticArm
    capabilities = frozenset({Capability.MOVES_VIALS})
    checks = "hw_tests.arm"
    transports = frozenset({"sim", "serial", "epics"})

    def build(self, name: str, settings: ArmConfig, wire: Wire, lab: Any) -> InstrumentDevice:
        """The arm, with its moves bounded by ``move_timeout`` of lab time."""
        move_timeout = wire.lab_seconds(float(settings.move_timeout.m_as("s")))
        driver: ArmDriver
        if isinstance(settings.transport, EpicsTransportConfig):
            assert settings.prefix is not None and settings.positions is not None
            prefix = f"{settings.transport.protocol}://{wire.address or settings.prefix}"
            positions = {p: float(mm.m_as("mm")) for p, mm in settings.positions.items()}
            taught = {p: tuple(lab.locations[p].xyz_mm) for p in positions}
            driver = EpicsStageDriver(name, prefix, positions, taught, wire.timeout_s, move_timeout)
        else:
            driver = AsciiArmDriver(
                _line(wire), name, move_timeout=move_timeout, timeout=wire.timeout_s
            )
        return RoboticArm(driver, settings.reach, name=name)

    def simulator(self, name: str, settings: ArmConfig, parts: SimulatedParts) -> Any:
        """An arm at its home, moving at the simulated speed (a stage on its own PVA
        server, its motor record's fields served as PVs)."""
        if isinstance(settings.transport, EpicsTransportConfig):
            from simulators.epics import StageTwin

            assert settings.prefix is not None and settings.positions is not None
            positions = {p: float(mm.m_as("mm")) for p, mm in settings.positions.items()}
            return StageTwin(
                parts.clock,
                parts.workcell,
                settings.prefix,
                positions,
                settings.home,
                speed_mm_s=parts.settings.speed_mm_s,
            )
        return sim.ArmFirmware(
            parts.clock, parts.workcell, settings.home, speed_mm_s=parts.settings.speed_mm_s
        )


class SynthesisStationKind(DeviceKind):
    """Pumps, a heated block and a stirrer around one vial slot, over the ASCII line
    protocol or OPC UA."""

    settings = StationConfig
    device = SynthesisStation
    capabilities = frozenset(
        {Capability.HOLDS_VIAL, Capability.DISPENSES, Capability.HEATS, Capability.STIRS}
    )
    checks = "hw_tests.station"
    transports = frozenset({"sim", "serial", "opcua"})

    def place(self, settings: StationConfig) -> str:
        """Its vial slot."""
        return settings.slot

    def limits(self, settings: StationConfig) -> dict[str, Range]:
        """Temperature, stir speed and dispense rate."""
        return {
            "temperature": settings.temperature.range(),
            "stir_speed": settings.stir_speed.range(),
            "dispense_rate": settings.dispense_rate.range(),
        }

    def build(self, name: str, settings: StationConfig, wire: Wire, lab: Any) -> InstrumentDevice:
        """The station on its line or its OPC UA endpoint."""
        driver: StationDriver
        if wire.opcua is not None:
            endpoint, security = wire.opcua
            driver = OpcuaStationDriver(endpoint, name, security, timeout=wire.timeout_s)
        else:
            driver = AsciiStationDriver(_line(wire), name, timeout=wire.timeout_s)
        return SynthesisStation(
            driver,
            wire.clock,
            reagents=settings.pumps,
            vial_capacity=lab.vial_range,
            temperature=settings.temperature.range(),
            stir_speed=settings.stir_speed.range(),
            dispense_rate=settings.dispense_rate.range(),
            ambient_c=float(settings.ambient.m_as("degC")),
            stop_patience_s=float(settings.safe_state_patience.m_as("s")),
            name=name,
        )

    def simulator(self, name: str, settings: StationConfig, parts: SimulatedParts) -> Any:
        """A station whose reservoirs (its own) are each filled with the lab's stock."""
        stock = {r: float(c.stock.m_as("mL")) for r, c in parts.lab.reagents.items()}
        return sim.StationFirmware(
            parts.clock,
            parts.workcell,
            settings.slot,
            {n: sim.Reservoir(r, stock[r]) for n, r in settings.pumps.items()},
            ambient_c=float(settings.ambient.m_as("degC")),
            heartbeat_s=float(settings.heartbeat.m_as("s")),
        )


class SpectrometerKind(DeviceKind):
    """A UV-Vis spectrometer with a cuvette holder, on the ASCII line protocol."""

    settings = SpectrometerConfig
    device = Spectrometer
    capabilities = frozenset({Capability.HOLDS_VIAL, Capability.MEASURES_SPECTRUM})
    checks = "hw_tests.spectrometer"

    def place(self, settings: SpectrometerConfig) -> str:
        """Its cuvette holder."""
        return settings.holder

    def limits(self, settings: SpectrometerConfig) -> dict[str, Range]:
        """Its integration times."""
        return {"integration_time": settings.integration_time.range()}

    def build(
        self, name: str, settings: SpectrometerConfig, wire: Wire, lab: Any
    ) -> InstrumentDevice:
        """The spectrometer on its line."""
        driver = AsciiSpectrometerDriver(_line(wire), name, timeout=wire.timeout_s)
        return Spectrometer(driver, settings.integration_time.range(), name=name)

    def simulator(self, name: str, settings: SpectrometerConfig, parts: SimulatedParts) -> Any:
        """A detector reading the simulated chemistry's spectrum of the vial it holds."""
        return sim.SpectrometerFirmware(
            parts.clock,
            parts.workcell,
            settings.holder,
            parts.chemistry,
            seed=parts.settings.noise_seed,
        )


class AnalyserKind(DeviceKind):
    """A chromatograph-like analyser reporting named quantities, on the ASCII line protocol."""

    settings = AnalyserConfig
    device = Analyser
    capabilities = frozenset({Capability.HOLDS_VIAL, Capability.MEASURES_QUANTITIES})
    checks = "hw_tests.analyser"

    def place(self, settings: AnalyserConfig) -> str:
        """Its sample holder."""
        return settings.holder

    def build(self, name: str, settings: AnalyserConfig, wire: Wire, lab: Any) -> InstrumentDevice:
        """The analyser, with one run bounded by ``run_timeout`` of lab time."""
        driver = AsciiAnalyserDriver(
            _line(wire),
            name,
            run_timeout=wire.lab_seconds(float(settings.run_timeout.m_as("s"))),
            timeout=wire.timeout_s,
        )
        return Analyser(driver, settings.fields, name=name)

    def simulator(self, name: str, settings: AnalyserConfig, parts: SimulatedParts) -> Any:
        """A run that takes the simulated run time and reports the chemistry's quantities."""
        return sim.AnalyserFirmware(
            parts.clock,
            parts.workcell,
            settings.holder,
            parts.chemistry,
            settings.fields,
            run_time_s=float(parts.settings.run_time.m_as("s")),
            noise=parts.settings.noise,
            seed=parts.settings.noise_seed,
        )
