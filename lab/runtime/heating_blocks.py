"""Heated vial blocks run by a facility's control systems, registered as device kinds
(entry-point group ``sdl_lab.devices``) like every other: ``epics_heating_block`` (PVs of
an EPICS IOC, named in the lab file: a prefix and each PV's name after it) and
``sila2_heating_block`` (a SiLA 2 server offering ``HeatingBlockController``).
docs/guides/staff.md says what each must serve."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from devices import Capability, InstrumentDevice, Range
from devices.epics import BlockPvs, EpicsDriver, EpicsHeatingBlock
from devices.sila import FEATURE as SILA_FEATURE
from devices.sila import SilaDriver, SilaHeatingBlock
from lab.files.device_kinds import DeviceKind, DeviceSettings, SimulatedParts, Wire
from lab.files.diagnostics_file import HeatingRateFloor
from lab.files.lab_file import TemperatureRange
from lab.files.transports import EpicsTransportConfig, SilaTransportConfig, Transport
from protocols._quantity_field import TemperatureSpan
from protocols.fields import Name, Temperature, Timeout


class BlockPvNames(BaseModel):
    """Each PV of a heating block, by its name after the device's ``prefix``."""

    model_config = ConfigDict(extra="forbid")

    setpoint: str = Field("SP", min_length=1, description="the setpoint (ao, degC)")
    temperature: str = Field(
        "T", min_length=1, description="the block's temperature (degC), alarm limits set"
    )
    ramp: str = Field("RAMP", min_length=1, description="the ramp rate (ao, K/min)")
    identity: str = Field("ID", min_length=1, description="maker,model,serial,firmware (stringin)")
    estop: str = Field("ESTOP", min_length=1, description="the emergency stop, latched at 1 (bo)")
    occupied: str = Field("VIAL", min_length=1, description="its vial sensor, 1 with a vial (bi)")


class BlockDiagnostics(BaseModel):
    """What `lab diagnose` judges a heating block by."""

    model_config = ConfigDict(extra="forbid")

    test_temperature: Temperature = Field(
        "40 degC", validate_default=True, description="setpoint of the ramp check"
    )
    ramp_rate: HeatingRateFloor = Field(
        HeatingRateFloor(warn="3 K/min", fail="1.5 K/min"),
        description="mean heating rate from 10 % to 90 % of the step",
    )


class BlockSettings(DeviceSettings):
    """A heated block holding one vial at ``place``, whatever runs it."""

    place: Name = Field(description="the location of the block: a heat step acts there")
    temperature: TemperatureRange
    ambient: Temperature = Field(
        "25 degC", validate_default=True, description="setpoint of its safe state"
    )
    tolerance: TemperatureSpan = Field(
        "0.5 K", validate_default=True, description="how close to the setpoint is settled"
    )
    settle_timeout: Timeout = Field(
        "30 min", validate_default=True, description="lab time a heat step may take to settle"
    )
    diagnostics: BlockDiagnostics = Field(BlockDiagnostics())


class EpicsBlockSettings(BlockSettings):
    """A heated block whose controller is an EPICS IOC (``transport: {type: epics,
    protocol: ca}`` or ``pva``)."""

    transport: Transport = Field(
        EpicsTransportConfig(type="epics"), description="EPICS: Channel Access or PV Access"
    )
    prefix: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9_:.\-]+$", description="the PV prefix, e.g. LAB:HB1:"
    )
    pvs: BlockPvNames = Field(BlockPvNames(), description="each PV's name after the prefix")


class SilaBlockSettings(BlockSettings):
    """A heated block served by a SiLA 2 server offering ``HeatingBlockController``
    (``transport: {type: sila2, address: host:port, certificate: server-ca.pem}``)."""

    transport: Transport = Field(
        SilaTransportConfig(type="sila2"), description="the SiLA 2 server, over TLS"
    )


class _BlockKind(DeviceKind):
    """What every heating block is for protocols and diagnostics."""

    capabilities = frozenset({Capability.HOLDS_VIAL, Capability.HEATS})
    checks = "hw_tests.heating_block"

    def place(self, settings: BlockSettings) -> str:
        """The block."""
        return settings.place

    def limits(self, settings: BlockSettings) -> dict[str, Range]:
        """Its temperatures."""
        return {"temperature": settings.temperature.range()}

    @staticmethod
    def heating(settings: BlockSettings) -> dict[str, float]:
        """How it heats, as the device takes it: its safe state's setpoint, how close is
        settled, how long settling may take."""
        return {
            "ambient_c": float(settings.ambient.m_as("degC")),
            "tolerance_c": float(settings.tolerance.m_as("K")),
            "settle_timeout_s": float(settings.settle_timeout.m_as("s")),
        }


class EpicsHeatingBlockKind(_BlockKind):
    """A heated vial block on an EPICS IOC: a heat step heats the vial standing in it."""

    settings = EpicsBlockSettings
    device = EpicsHeatingBlock
    transports = frozenset({"epics"})

    def build(
        self, name: str, settings: EpicsBlockSettings, wire: Wire, lab: Any
    ) -> InstrumentDevice:
        """The block on its IOC's PVs (in a simulation, behind the simulator's prefix)."""
        transport = settings.transport
        assert isinstance(transport, EpicsTransportConfig)
        prefix = wire.address or settings.prefix
        address = f"{transport.protocol}://{prefix}"
        names = settings.pvs
        pvs = BlockPvs(
            **{field: address + getattr(names, field) for field in BlockPvNames.model_fields}
        )
        driver = EpicsDriver(name, f"EPICS {transport.protocol.upper()} {prefix}*", wire.timeout_s)
        return EpicsHeatingBlock(
            driver,
            pvs,
            wire.clock,
            settings.temperature.range(),
            **self.heating(settings),
            name=name,
        )

    def simulator(self, name: str, settings: EpicsBlockSettings, parts: SimulatedParts) -> Any:
        """A soft IOC whose records ramp the block, and the block's physics with the
        workcell (the vial in it sees its temperature)."""
        from simulators.epics import HeatingBlockTwin

        return HeatingBlockTwin(
            parts.clock,
            parts.workcell,
            settings.place,
            settings.prefix,
            ambient_c=float(settings.ambient.m_as("degC")),
        )


class SilaHeatingBlockKind(_BlockKind):
    """A heated vial block on a SiLA 2 server: a heat step heats the vial standing in it."""

    settings = SilaBlockSettings
    device = SilaHeatingBlock
    transports = frozenset({"sila2"})

    def build(
        self, name: str, settings: SilaBlockSettings, wire: Wire, lab: Any
    ) -> InstrumentDevice:
        """The block on its server (in a simulation, the simulator's address and
        certificate)."""
        transport = settings.transport
        assert isinstance(transport, SilaTransportConfig)
        address = wire.address or transport.address
        assert address is not None  # the lab file requires one for real hardware
        driver = SilaDriver(
            name, address, SILA_FEATURE, wire.certificate or transport.certificate, wire.timeout_s
        )
        return SilaHeatingBlock(
            driver,
            wire.clock,
            settings.temperature.range(),
            **self.heating(settings),
            name=name,
        )

    def simulator(self, name: str, settings: SilaBlockSettings, parts: SimulatedParts) -> Any:
        """The sila2 library's server, its block's physics on the simulation's clock."""
        from simulators.sila import BlockPhysics, SilaHeatingBlockServer

        limits = settings.temperature.range()
        physics = BlockPhysics(
            parts.clock,
            parts.workcell,
            settings.place,
            float(settings.ambient.m_as("degC")),
            rate=10.0,
        )
        return SilaHeatingBlockServer(physics, limits.low, limits.high)
