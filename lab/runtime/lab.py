"""Build a running lab from its config: transports, devices and RunEngine. In a
simulated lab the simulators are wired in exactly where a real port would be."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Awaitable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from bluesky import RunEngine
from bluesky.run_engine import call_in_bluesky_event_loop

from devices import (
    Analyser,
    Clock,
    DeviceError,
    DeviceRefused,
    InProcessTransport,
    InstrumentDevice,
    OpcuaSecurity,
    RoboticArm,
    SerialTransport,
    Spectrometer,
    SynthesisStation,
    Timer,
    UnsafeState,
    WallClock,
)
from devices.liquid_handler import LiquidHandler
from lab.errors import ConfigError
from lab.files.device_kinds import Wire
from lab.files.lab_file import LabConfig
from lab.files.transports import (
    EpicsTransportConfig,
    PylabrobotTransportConfig,
    SerialTransportConfig,
    SilaTransportConfig,
    SimTransport,
)
from lab.runtime.simulated_world import SimulatedWorld, build_world
from lab.store import Store
from protocols import Bay, LabDevices, LabLimits, Resources
from protocols.preflight import DeviceFacts

T = TypeVar("T")
#: how long (lab time) a warm block is watched for getting hotter when a campaign ends
COOLING_WINDOW_S = 10.0
#: the shortest period (real seconds) interlocks are read and heartbeats sent, however
#: fast a simulation's clock runs
MIN_WATCH_PERIOD_S = 0.1


@dataclass
class Lab:
    """A connected lab: its devices, the RunEngine that drives them, and (when simulated)
    the simulators behind the wires. ``close()`` disconnects everything."""

    config: LabConfig
    run_engine: RunEngine
    devices: LabDevices
    world: SimulatedWorld | None
    #: ``run_engine`` and more, two per synthesis station, for an executor that runs
    #: trials side by side, a station's next beside its last while that one's vial is
    #: measured (see :func:`parallel_run_engines`)
    run_engines: list[RunEngine]
    store: Store | None = None
    #: the stations' heartbeat while the lab is connected (see :meth:`connect`)
    _heartbeat: asyncio.Task[None] | None = None

    def record_to(self, store: Store) -> None:
        """Record every run of this lab's RunEngines in ``store`` (whoever starts it), with
        scan ids continuing from the last one stored; ``close()`` closes the store."""
        self.run_engine.md["scan_id"] = store.last_scan_id()  # the md all of them share
        for run_engine in self.run_engines:
            run_engine.subscribe(store.record)
        self.store = store

    @property
    def clock(self) -> Clock:
        """Lab time: the simulation's accelerated clock, or the wall clock."""
        return self.world.clock if self.world is not None else WallClock()

    def connect(self, names: Iterable[str] | None = None) -> None:
        """Connect the named instruments (default: all, and the timer), in order; the
        first that cannot be reached raises its typed ``DeviceError``.

        Args:
            names: the instruments to connect; all if None.
        """
        devices = self.devices
        timers = [b.timer for b in devices.bays]
        chosen = [d for d in (*devices.instruments, *timers) if names is None or d.name in names]

        async def connect() -> None:
            for device in chosen:
                # signals of a control system (EPICS PVs) wait this long to connect
                transport = self.config.devices.get(device.name)
                timeout = getattr(getattr(transport, "transport", None), "timeout", None)
                await device.connect(timeout=float(timeout.m_as("s")) if timeout else 10.0)
            if self._heartbeat is None and any(s in chosen for s in devices.stations):
                self._heartbeat = asyncio.create_task(self._beat(), name="station-heartbeat")

        self.call(connect())

    @property
    def watch_period_s(self) -> float:
        """``watchdog_period`` in real seconds: it is lab time, so a simulation at 200x
        watches 200 times as often in real time (never more often than every 100 ms), or a
        leak during a 60 s stir would be read once in 100 s of lab time."""
        speed = float(getattr(self.clock, "speed", 1.0))
        return max(MIN_WATCH_PERIOD_S, float(self.config.watchdog_period.m_as("s")) / speed)

    async def _beat(self) -> None:
        """Tell each connected station, four times within its ``heartbeat`` (real time),
        that this lab is alive: one that hears nothing for that long stops itself and
        latches, so a lab process killed mid-stir does not leave the block hot and stirring
        until someone comes. A station that cannot be reached now is the interlocks' to
        report; its heartbeat is sent again next time."""
        stations = self.devices.stations
        period = min(float(c.heartbeat.m_as("s")) for _, c in self.config.stations) / 4

        async def one(station: SynthesisStation) -> None:
            with contextlib.suppress(DeviceError, TimeoutError):
                await asyncio.wait_for(station.driver.heartbeat(), period)

        while True:
            await asyncio.sleep(period)
            await asyncio.gather(*(one(s) for s in stations))

    def call(self, coro: Awaitable[T]) -> T:
        """Run a coroutine on the devices' event loop (bluesky's) and return its result.

        Args:
            coro: the coroutine.
        """
        return call_in_bluesky_event_loop(coro)

    def limits(self, station: str | None = None) -> LabLimits:
        """What protocols are checked against: each device's limits and the lab's places.

        Args:
            station: the synthesis station a protocol will run on; the first if None.
        """
        d = self.devices if station is None else self.devices.on(station)
        return self.call(
            LabLimits.read(
                d.all_arms,
                d.station,
                d.spectrometer,
                sources=frozenset(self.config.role("source")),
                waste=d.waste,
                station_slot=d.slot,
                spectrometer_holder=d.holder,
                analyser_holder=d.analyser_holder,
                devices=self.facts(),
            )
        )

    def facts(self) -> dict[str, DeviceFacts]:
        """What each device declares of itself, with the limits a device knows better
        now than its lab file (a liquid handler's tips and reagent left)."""
        facts = dict(self.devices.facts)
        for name, device in self.devices.others.items():
            if isinstance(device, LiquidHandler):
                facts[name] = dataclasses.replace(facts[name], limits=device.limits())
        return facts

    def start_state_problems(self) -> list[str]:
        """What keeps the workcell from its start state: vials left in the gripper, the
        station or an instrument's holder, and a station stirring or not at ambient.
        :class:`DeviceRefused` if an instrument's emergency stop is still latched: only a
        person may clear that, after looking."""

        async def read() -> list[str]:
            d = self.devices
            states = await asyncio.gather(*(i.driver.state() for i in d.instruments))
            latched = [i.name for i, s in zip(d.instruments, states, strict=True) if s == "estop"]
            if latched:
                raise DeviceRefused(
                    ", ".join(latched),
                    "emergency stop latched at the instrument since an earlier stop; find "
                    "out why it stopped and make the lab safe, then clear it with `lab reset` "
                    "(staff)",
                )
            found = []
            one = len(d.all_arms) == 1
            grippers = [
                ("the gripper" if one else f"{a.name}'s gripper", a.holding) for a in d.all_arms
            ]
            for where, signal in [*grippers, *d.holders]:
                vial = await signal.get_value()
                if isinstance(vial, str) and vial:
                    found.append(f"vial {vial} left in {where}")
                elif vial:  # a device that feels a vial but cannot name it (a balance)
                    found.append(f"a vial left at {where}")
            for station in d.stations:
                rpm = await station.stirrer.speed.get_value()
                setpoint = await station.heater.setpoint.get_value()
                if rpm or abs(setpoint - station.ambient_c) > 0.5:
                    found.append(f"{station.name} at {rpm:g} rpm, heater set to {setpoint:g} degC")
            return found

        return self.call(read())

    def cooling_problems(self, window_s: float = COOLING_WINDOW_S) -> list[str]:
        """Each station whose block is still getting hotter with its heater set to ambient
        (a heater stuck on), as a LEFT UNSAFE line; read when a campaign or the lab ends,
        since the setpoint read back by the safe state cannot tell.

        Args:
            window_s: how long (lab time) a warm block is watched.
        """

        async def watch(station: SynthesisStation) -> str | None:
            try:
                await station.heater.confirm_cooling(station.ambient_c, window_s)
            except UnsafeState as err:
                return str(err)
            except DeviceError:
                return None  # unreachable: reported as such where it was met
            return None

        async def each() -> list[str | None]:
            return list(await asyncio.gather(*(watch(s) for s in self.devices.stations)))

        return [found for found in self.call(each()) if found]

    def identities(self) -> dict[str, dict[str, str]]:
        """What each instrument says it is (maker, model, serial number, firmware) and how
        it is reached, for the provenance of every run."""

        async def read() -> dict[str, dict[str, str]]:
            return {
                d.name: {**asdict(await d.identity()), "link": d.driver.link}
                for d in self.devices.instruments
            }

        return self.call(read())

    def status(self, skip: set[str] | None = None) -> dict[str, dict[str, Any]]:
        """Each device's identity, link and current readings with their units, for
        ``lab devices`` (devices in ``skip``, say unreachable ones, are left out)."""

        async def one(device: InstrumentDevice) -> dict[str, Any]:
            readings = {**await device.read(), **await device.read_configuration()}
            described = {**await device.describe(), **await device.describe_configuration()}
            path_of = device.reading_names()
            order = list(path_of)  # as the device declares them, whatever answered first
            readings = dict(
                sorted(readings.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 0)
            )
            return {
                "identity": str(await device.identity()),
                "link": device.driver.link,
                "readings": {
                    path_of.get(key, key.removeprefix(device.name + "-")): {
                        "value": reading["value"],
                        "units": described[key].get("units") or "",
                        "time": reading["timestamp"],
                    }
                    for key, reading in readings.items()
                },
            }

        async def read() -> dict[str, dict[str, Any]]:
            skipped = skip or set()
            return {d.name: await one(d) for d in self.devices.instruments if d.name not in skipped}

        return self.call(read())

    def close(self) -> None:
        """Disconnect every device, stop the simulators (removing their files) and close the store."""

        async def close() -> None:
            if self._heartbeat is not None:
                self._heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._heartbeat
            for device in self.devices.instruments:
                await device.driver.close()
            if self.world is not None:
                await self.world.stop()

        try:
            self.call(close())
        finally:
            if self.store is not None:
                self.store.close()


def _wire(config: LabConfig, name: str, world: SimulatedWorld | None, clock: Clock) -> Wire:
    """How device ``name`` reaches its instrument: the port or endpoint of the lab file,
    or the simulator's in its place."""
    cfg = config.settings_of(name).transport
    if isinstance(cfg, SimTransport):
        assert world is not None  # LabConfig allows sim transports only in a simulated lab
        firmware = world.firmware[name]
        if not hasattr(firmware, "handle"):  # a library's backend object (PyLabRobot's)
            return Wire(name, None, 5.0, clock, simulator=firmware)
        return Wire(name, InProcessTransport(firmware.handle, name), 5.0, clock)
    timeout = float(cfg.timeout.m_as("s"))
    if isinstance(cfg, PylabrobotTransportConfig):  # the backend reaches its machine itself
        return Wire(name, None, timeout, clock, simulator=world and world.firmware[name])
    if isinstance(cfg, EpicsTransportConfig | SilaTransportConfig):
        if world is None:
            return Wire(name, None, timeout, clock)
        certificate = world.certificates.get(name)
        return Wire(
            name, None, timeout, clock, address=world.endpoints[name], certificate=certificate
        )
    if isinstance(cfg, SerialTransportConfig):
        port = world.endpoints[name] if world is not None else cfg.port
        assert port is not None  # LabConfig requires a port for real hardware
        line = SerialTransport(port, name, cfg.baudrate, cfg.terminator, cfg.retries)
        return Wire(name, line, timeout, clock)
    if world is not None:
        return Wire(name, None, timeout, clock, (world.endpoints[name], world.opcua_security[name]))
    sec = cfg.security
    password = os.environ.get(sec.password_env) if sec.password_env else None
    if sec.password_env and password is None:
        raise ConfigError(
            f"devices.{name}.transport.security.password_env",
            [f"environment variable {sec.password_env} is not set"],
        )
    assert cfg.endpoint is not None  # checked by LabConfig
    security = OpcuaSecurity(
        sec.mode,
        sec.certificate,
        sec.private_key,
        sec.server_certificate,
        sec.username,
        password,
        allow_insecure=sec.allow_insecure,
    )
    return Wire(name, None, timeout, clock, (cfg.endpoint, security))


def threaded_run_engine() -> RunEngine:
    """A RunEngine for an executor's thread: no signal handlers (those belong to the main
    thread; the application handles Ctrl-C) and a result from every call."""
    return RunEngine({}, context_managers=[], call_returns_result=True)


def parallel_run_engines(first: RunEngine, count: int) -> list[RunEngine]:
    """``first`` and ``count - 1`` RunEngines beside it for executor threads: on its event
    loop (where the devices live) and with its metadata, so scan ids count on across all.

    Args:
        first: the lab's RunEngine.
        count: how many in all.
    """
    return [first] + [
        RunEngine(first.md, loop=first.loop, context_managers=[], call_returns_result=True)
        for _ in range(count - 1)
    ]


def build_lab(
    config: LabConfig,
    store: Store | None = None,
    run_engine: RunEngine | None = None,
    connect: bool = True,
) -> Lab:
    """Compose and connect the lab (and, if ``simulated``, start its simulators first).

    Args:
        config: the checked lab file.
        store: if given, every run of the RunEngine is recorded there, whoever starts it,
            and scan ids continue from the last one stored.
        run_engine: the RunEngine to use (say, one for an executor's thread); default: a
            new one.
        connect: ``False`` leaves the devices for the caller to connect one by one
            (:meth:`Lab.connect`), as diagnostics do.

    Raises:
        DeviceError: a device cannot be reached (the simulators, if any, are stopped).
    """
    # the RunEngine starts the event loop the devices and simulators live on
    run_engine = run_engine or RunEngine({}, call_returns_result=True)
    world = build_world(config) if config.simulated else None
    try:
        if world is not None:
            call_in_bluesky_event_loop(world.start(config))
        devices = _devices(config, world)
    except Exception:
        if world is not None:
            call_in_bluesky_event_loop(world.stop())
        raise
    engines = parallel_run_engines(run_engine, 2 * len(config.stations))
    lab = Lab(config, run_engine, devices, world, engines)
    try:
        if connect:
            lab.connect()
    except Exception:
        lab.close()
        raise
    if store is not None:
        lab.record_to(store)
    return lab


def _devices(config: LabConfig, world: SimulatedWorld | None) -> LabDevices:
    """Each device built by its kind, then given its role in protocols."""
    clock: Clock = world.clock if world is not None else WallClock()
    built = {
        name: config.kind_of(name).build(
            name, config.settings_of(name), _wire(config, name, world, clock), config
        )
        for name in config.devices
    }
    several = len(config.stations) > 1
    spectrometer, analyser = config.spectrometer, config.analyser
    return LabDevices(
        arm=_as(RoboticArm, built[config.arm[0]]),
        bays=tuple(
            Bay(
                _as(SynthesisStation, built[name]),
                cfg.slot,
                Timer(clock, name=f"{name}_timer" if several else "timer"),
            )
            for name, cfg in config.stations
        ),
        spectrometer=_as(Spectrometer, built[spectrometer[0]]),
        waste=config.role("waste")[0],
        holder=spectrometer[1].holder,
        resources=Resources(clock),
        analyser=_as(Analyser, built[analyser[0]]) if analyser else None,
        analyser_holder=analyser[1].holder if analyser else None,
        others={name: built[name] for name in config.package_devices},
        facts=config.facts(),
        arms=tuple(_as(RoboticArm, built[name]) for name, _ in config.arms),
        spectrometers=tuple(
            (_as(Spectrometer, built[name]), cfg.holder) for name, cfg in config.spectrometers
        ),
    )


D = TypeVar("D", bound=InstrumentDevice)


def _as(kind: type[D], device: InstrumentDevice) -> D:
    assert isinstance(device, kind), f"{device.name} is a {type(device).__name__}"
    return device


__all__ = ["Lab", "build_lab", "parallel_run_engines", "threaded_run_engine"]
