"""The simulated side of a lab: one workcell, its instruments' firmware, and the endpoints
(in-process handlers or real ptys) where the lab's drivers find them."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import simulators as sim
from devices import OpcuaSecurity
from lab.errors import ConfigError
from lab.files.device_kinds import SimulatedParts
from lab.files.lab_file import GROUND_TRUTH_ARGUMENTS, LabConfig
from lab.files.plugins import load_callable
from lab.files.transports import (
    EpicsTransportConfig,
    OpcuaTransportConfig,
    SerialTransportConfig,
    SilaTransportConfig,
)
from simulators.epics import HeatingBlockTwin, StageTwin, use_loopback_iocs
from simulators.opcua_station import (
    CLIENT_URI,
    SERVER_URI,
    KeyPair,
    OpcuaStationServer,
    StationServerSecurity,
    free_port,
    make_key_pair,
)
from simulators.sila import SilaHeatingBlockServer


@dataclass
class SimulatedWorld:
    """What only a simulation has: the clock, the workcell, each device's firmware, and
    the servers that put firmware on a wire."""

    clock: sim.SimClock
    workcell: sim.Workcell
    firmware: dict[str, Any]
    servers: dict[
        str,
        sim.PtyServer | OpcuaStationServer | HeatingBlockTwin | StageTwin | SilaHeatingBlockServer,
    ] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    #: the PEM each simulated TLS server's certificate chains to (SiLA 2)
    certificates: dict[str, bytes] = field(default_factory=dict)
    #: what a lab client needs to pass the simulated PLC's security
    opcua_security: dict[str, OpcuaSecurity] = field(default_factory=dict)
    #: a temporary folder this world made for its ptys and keys, removed on stop
    scratch: Path | None = None
    _client_keys: KeyPair | None = None

    @property
    def station(self) -> sim.StationFirmware:
        """The (first) simulated synthesis station's firmware."""
        return next(f for f in self.firmware.values() if isinstance(f, sim.StationFirmware))

    def refill(self, consumable: str, level: float) -> None:
        """What a person's hands do in a real lab: fill each reservoir of the reagent
        ``consumable`` to ``level`` mL, or, for ``vials``, each rack to ``level`` vials.

        Args:
            consumable: a reagent's name, or ``vials``.
            level: the new level (mL, or vials).
        """
        if consumable == "vials":
            for name, location in self.workcell.locations.items():
                if location.source:
                    self.workcell.fill_rack(name, int(level))
            return
        for firmware in self.firmware.values():
            if isinstance(firmware, sim.StationFirmware):
                for reservoir in firmware.pumps.values():
                    if reservoir.reagent == consumable:
                        reservoir.volume_ml = level

    async def start(self, config: LabConfig, directory: Path | None = None) -> None:
        """Serve each wire-transport device's firmware where its driver will look; without
        a ``directory``, in a temporary one (with the PLC's keys) that :meth:`stop` removes.

        Args:
            config: the simulated lab file.
            directory: where to serve the ptys and keys; a temporary one if None.
        """
        if directory is None:
            _remove_orphans()
            directory = self.scratch = Path(tempfile.mkdtemp(prefix=f"sdl-sim-{os.getpid()}-"))
        for name in config.devices:
            transport = config.settings_of(name).transport
            if isinstance(transport, SerialTransportConfig):
                server = sim.PtyServer(
                    self.firmware[name], directory / name, transport.terminator.encode()
                )
                await server.start()
                self.servers[name] = server
                self.endpoints[name] = str(server.path)
            elif isinstance(transport, OpcuaTransportConfig):
                await self._start_plc(name, transport, directory / "pki")
            elif isinstance(transport, EpicsTransportConfig):
                await self._start_ioc(name)
            elif isinstance(transport, SilaTransportConfig):
                server = self.firmware[name]
                await server.start()
                self.servers[name] = server
                self.endpoints[name] = server.address
                self.certificates[name] = server.certificate

    async def _start_ioc(self, name: str) -> None:
        """The instrument's IOC (or PVA server) on this machine, and this process's EPICS
        clients pointed at servers on this machine (a simulation never reaches a
        facility's)."""
        twin = self.firmware[name]
        use_loopback_iocs()
        await twin.start()
        self.servers[name] = twin
        self.endpoints[name] = twin.served_prefix

    async def _start_plc(self, name: str, transport: OpcuaTransportConfig, pki: Path) -> None:
        """A PLC with its own certificate that trusts exactly this lab's certificate and
        knows one user with a fresh random password."""
        station = self.firmware[name]
        assert isinstance(station, sim.StationFirmware)
        mode = transport.security.mode
        server_keys = await make_key_pair(pki / "server", name, SERVER_URI, server=True)
        client_keys = self._client_keys or await make_key_pair(
            pki / "client", "lab", CLIENT_URI, server=False
        )
        self._client_keys = client_keys  # one lab client for every PLC of the world
        trusted = pki / "trusted" / name
        trusted.mkdir(parents=True, exist_ok=True)
        shutil.copy(client_keys.certificate, trusted)
        username = transport.security.username or "lab"
        password = secrets.token_urlsafe(16)
        server = OpcuaStationServer(
            station,
            free_port(),
            StationServerSecurity(
                [mode], {username: password}, server_keys, trusted if mode != "None" else None
            ),
        )
        await server.start()
        self.servers[name] = server
        self.endpoints[name] = server.endpoint
        self.opcua_security[name] = OpcuaSecurity(
            mode,
            client_keys.certificate,
            client_keys.private_key,
            None,
            username,
            password,
            allow_insecure=transport.security.allow_insecure,
            application_uri=CLIENT_URI,
        )

    async def stop(self) -> None:
        """Stop serving (ptys, the PLC) and remove the scratch folder with its keys."""
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                await server.stop()
        self.servers.clear()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


def _remove_orphans() -> None:
    """Scratch folders (ptys, private keys) of simulated labs whose process is gone, say
    after a kill -9, which no cleanup code survives."""
    for folder in Path(tempfile.gettempdir()).glob("sdl-sim-*-*"):
        pid = folder.name.split("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def build_world(config: LabConfig) -> SimulatedWorld:
    """The simulated instruments, workcell and clock a simulated lab file describes (not yet serving).

    Args:
        config: the simulated lab file.
    """
    simulation = config.simulation
    chemistry = load_callable(simulation.chemistry, GROUND_TRUTH_ARGUMENTS)
    clock = sim.SimClock(simulation.clock_speed)
    workcell = sim.Workcell(
        [
            sim.Location(name, loc.xyz_mm, source=loc.role == "source", sink=loc.role == "waste")
            for name, loc in config.locations.items()
        ],
        vial_capacity_ml=float(config.vial_capacity.m_as("mL")),
    )
    for name, loc in config.locations.items():
        if loc.vials is not None:
            workcell.fill_rack(name, loc.vials)
    world = SimulatedWorld(clock, workcell, {})
    for name in config.devices:
        parts = SimulatedParts(clock, workcell, chemistry, simulation.device(name), config)
        firmware = config.kind_of(name).simulator(name, config.settings_of(name), parts)
        if firmware is None:
            raise ConfigError(
                f"devices.{name}",
                [
                    f"its kind ({config.kind_of(name).__class__.__name__}) has no simulator: "
                    "set simulated: false and connect the instrument"
                ],
            )
        world.firmware[name] = firmware
    for degradation in simulation.degradations:
        _degrade(world, config, degradation)
    return world


def _degrade(world: SimulatedWorld, config: LabConfig, degradation: str) -> None:
    """Age one instrument the way a lab's instruments age, by the figure a check measures."""
    arm = world.firmware[config.arm[0]]
    station = world.station
    spectrometer = world.firmware[config.spectrometer[0]]
    assert isinstance(arm, sim.ArmFirmware) and isinstance(spectrometer, sim.SpectrometerFirmware)
    if degradation == "aged_lamp":
        spectrometer.lamp_output = 0.3
    elif degradation == "noisy_detector":
        spectrometer.read_noise *= 10
    elif degradation == "drifting_pump":
        station.pumps[min(station.pumps)].delivery = 0.9
    elif degradation == "slow_heater":
        station.tau_s *= 6
    elif degradation == "arm_offset":
        arm.offset_mm = np.array([1.2, -0.9, 0.0])
    elif degradation == "wrong_firmware":
        spectrometer.firmware_version = "0.9-beta"
    else:
        raise ValueError(f"unknown degradation {degradation!r}")
