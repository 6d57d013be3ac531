"""Instrument kinds on EPICS IOCs, registered as device kinds (entry-point group
``sdl_lab.devices``) like every other: ``epics_heating_block``. Their PVs are named in
the lab file (a prefix, and each PV's name after it), so a facility's IOC is used as it
is named; docs/guides/staff.md says what such an IOC serves."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from devices import Capability, InstrumentDevice, Range
from devices.epics import BlockPvs, EpicsDriver, EpicsHeatingBlock
from lab.files.device_kinds import DeviceKind, DeviceSettings, SimulatedParts, Wire
from lab.files.diagnostics_file import HeatingRateFloor
from lab.files.lab_file import TemperatureRange
from lab.files.transports import EpicsTransportConfig, Transport
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


class HeatingBlockSettings(DeviceSettings):
    """A heated block holding one vial at ``place``, whose controller is an EPICS IOC
    (``transport: {type: epics, protocol: ca}`` or ``pva``)."""

    transport: Transport = Field(
        EpicsTransportConfig(type="epics"), description="EPICS: Channel Access or PV Access"
    )
    prefix: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9_:.\-]+$", description="the PV prefix, e.g. LAB:HB1:"
    )
    pvs: BlockPvNames = Field(BlockPvNames(), description="each PV's name after the prefix")
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


class HeatingBlockKind(DeviceKind):
    """A heated vial block on an EPICS IOC: a heat step heats the vial standing in it."""

    settings = HeatingBlockSettings
    device = EpicsHeatingBlock
    capabilities = frozenset({Capability.HOLDS_VIAL, Capability.HEATS})
    checks = "hw_tests.heating_block"
    transports = frozenset({"epics"})

    def place(self, settings: HeatingBlockSettings) -> str:
        """The block."""
        return settings.place

    def limits(self, settings: HeatingBlockSettings) -> dict[str, Range]:
        """Its temperatures."""
        return {"temperature": settings.temperature.range()}

    def build(
        self, name: str, settings: HeatingBlockSettings, wire: Wire, lab: Any
    ) -> InstrumentDevice:
        """The block on its IOC's PVs (in a simulation, behind the simulator's prefix)."""
        transport = settings.transport
        assert isinstance(transport, EpicsTransportConfig)
        prefix = wire.pv_prefix or settings.prefix
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
            ambient_c=float(settings.ambient.m_as("degC")),
            tolerance_c=float(settings.tolerance.m_as("K")),
            settle_timeout_s=float(settings.settle_timeout.m_as("s")),
            name=name,
        )

    def simulator(self, name: str, settings: HeatingBlockSettings, parts: SimulatedParts) -> Any:
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
