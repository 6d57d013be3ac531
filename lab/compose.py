"""Build a running lab from its config: transports, devices, RunEngine, and (in
simulation) the simulators wired in exactly where a real port or endpoint would be."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from bluesky import RunEngine
from bluesky.run_engine import call_in_bluesky_event_loop

import simulators as sim
from devices import (
    AsciiArmDriver,
    AsciiSpectrometerDriver,
    AsciiStationDriver,
    InProcessTransport,
    Range,
    RoboticArm,
    Spectrometer,
    SynthesisStation,
    Timer,
)
from lab.config import LabConfig
from lab.errors import ConfigError
from protocols import LabDevices, LabLimits

T = TypeVar("T")


def load_callable(spec: str, field: str) -> Any:
    """``package.module:name`` -> the object; a class is instantiated with no arguments."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(field, [f"{spec!r}: write it as package.module:function"])
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(field, [f"cannot load {spec!r}: {err}"]) from None
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise ConfigError(field, [f"{spec!r} is not callable"])
    return obj


@dataclass
class SimulatedWorld:
    """What only a simulation has: the clock and the physical state of the workcell."""

    clock: sim.SimClock
    workcell: sim.Workcell
    station: sim.StationFirmware


@dataclass
class Lab:
    config: LabConfig
    run_engine: RunEngine
    devices: LabDevices
    world: SimulatedWorld | None

    def call(self, coro: Awaitable[T]) -> T:
        """Run a coroutine on the devices' event loop (bluesky's) and return its result."""
        return call_in_bluesky_event_loop(coro)

    def limits(self) -> LabLimits:
        d = self.devices
        return self.call(
            LabLimits.read(
                d.arm,
                d.station,
                d.spectrometer,
                sources=frozenset(self.config.role("source")),
                waste=d.waste,
                station_slot=self.config.station[1].slot,
                spectrometer_holder=self.config.spectrometer[1].holder,
            )
        )

    def status(self) -> dict[str, dict[str, Any]]:
        """Each device's identity and current readings, for ``lab devices``."""

        async def read() -> dict[str, dict[str, Any]]:
            d = self.devices
            out = {}
            for device in (d.arm, d.station, d.spectrometer):
                readings = await device.read()
                out[device.name] = {
                    "identity": await device.driver.identify(),
                    **{k: v["value"] for k, v in readings.items()},
                }
            return out

        return self.call(read())

    def close(self) -> None:
        d = self.devices

        async def close() -> None:
            for device in (d.arm, d.station, d.spectrometer):
                await device.driver.close()

        self.call(close())


def build_lab(config: LabConfig, run_engine: RunEngine | None = None) -> Lab:
    """Compose and connect the lab. Every transport is ``sim`` for now, so the simulators
    are always built; real transports will skip them device by device."""
    chemistry = load_callable(config.chemistry, "lab.chemistry")
    clock = sim.SimClock(config.clock_speed)
    workcell = sim.Workcell(
        [
            sim.Location(name, loc.xyz_mm, source=loc.role == "source", sink=loc.role == "waste")
            for name, loc in config.locations.items()
        ],
        vial_capacity_ml=float(config.vial_capacity.m_as("mL")),
    )
    arm_name, arm_cfg = config.arm
    station_name, station_cfg = config.station
    spec_name, spec_cfg = config.spectrometer
    arm_fw = sim.ArmFirmware(clock, workcell, arm_cfg.home, speed_mm_s=arm_cfg.speed_mm_s)
    station_fw = sim.StationFirmware(
        clock,
        workcell,
        station_cfg.slot,
        {
            n: sim.Reservoir(r, float(config.reagents[r].stock.m_as("mL")))
            for n, r in station_cfg.pumps.items()
        },
    )
    spec_fw = sim.SpectrometerFirmware(
        clock, workcell, spec_cfg.holder, chemistry, seed=spec_cfg.noise_seed
    )
    re = run_engine or RunEngine({})
    devices = LabDevices(
        arm=RoboticArm(
            AsciiArmDriver(InProcessTransport(arm_fw.handle, arm_name), arm_name),
            arm_cfg.reach,
            name=arm_name,
        ),
        station=SynthesisStation(
            AsciiStationDriver(InProcessTransport(station_fw.handle, station_name), station_name),
            clock,
            reagents=station_cfg.pumps,
            vial_capacity=Range(0.0, float(config.vial_capacity.m_as("mL")), "mL"),
            temperature=station_cfg.temperature.range(),
            stir_speed=station_cfg.stir_speed.range(),
            dispense_rate=station_cfg.dispense_rate.range(),
            name=station_name,
        ),
        spectrometer=Spectrometer(
            AsciiSpectrometerDriver(InProcessTransport(spec_fw.handle, spec_name), spec_name),
            spec_cfg.integration_time.range(),
            name=spec_name,
        ),
        timer=Timer(clock, name="timer"),
        waste=config.role("waste")[0],
    )

    async def connect() -> None:
        for device in (devices.arm, devices.station, devices.spectrometer, devices.timer):
            await device.connect()

    call_in_bluesky_event_loop(connect())
    return Lab(config, re, devices, SimulatedWorld(clock, workcell, station_fw))


__all__ = ["Lab", "SimulatedWorld", "build_lab", "load_callable"]
