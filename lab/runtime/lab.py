"""Build a running lab from its config: transports, devices and RunEngine. In a
simulated lab the simulators are wired in exactly where a real port would be."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from bluesky import RunEngine
from bluesky.run_engine import call_in_bluesky_event_loop

from devices import (
    Analyser,
    AsciiAnalyserDriver,
    AsciiArmDriver,
    AsciiSpectrometerDriver,
    AsciiStationDriver,
    Clock,
    DeviceError,
    DeviceRefused,
    InProcessTransport,
    InstrumentDevice,
    OpcuaSecurity,
    OpcuaStationDriver,
    RoboticArm,
    SerialTransport,
    Spectrometer,
    StationDriver,
    SynthesisStation,
    Timer,
    Transport,
    UnsafeState,
    WallClock,
)
from lab.errors import ConfigError
from lab.files.lab_file import (
    LabConfig,
    OpcuaTransportConfig,
    SerialTransportConfig,
    SimTransport,
    StationConfig,
)
from lab.runtime.simulated_world import SimulatedWorld, build_world
from lab.store import Store
from protocols import Bay, LabDevices, LabLimits, Resources

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
    #: ``run_engine`` and one more per further synthesis station, for an executor that
    #: runs trials side by side (see :func:`parallel_run_engines`)
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
                await device.connect()
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
                d.arm,
                d.station,
                d.spectrometer,
                sources=frozenset(self.config.role("source")),
                waste=d.waste,
                station_slot=d.slot,
                spectrometer_holder=d.holder,
                analyser_holder=d.analyser_holder,
            )
        )

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
            for where, signal in [("the gripper", d.arm.holding), *d.holders]:
                vial = await signal.get_value()
                if vial:
                    found.append(f"vial {vial} left in {where}")
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
            return {
                "identity": str(await device.identity()),
                "link": device.driver.link,
                "readings": {
                    key.removeprefix(device.name + "-"): {
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


def _transport(config: LabConfig, name: str, world: SimulatedWorld | None) -> Transport:
    cfg = config.devices[name].transport
    if isinstance(cfg, SerialTransportConfig):
        port = world.endpoints[name] if world is not None else cfg.port
        assert port is not None  # LabConfig requires a port for real hardware
        return SerialTransport(port, name, cfg.baudrate, cfg.terminator, cfg.retries)
    assert world is not None  # LabConfig allows sim transports only in a simulated lab
    return InProcessTransport(world.firmware[name].handle, name)


def _timeout(config: LabConfig, name: str) -> float:
    cfg = config.devices[name].transport
    return 5.0 if isinstance(cfg, SimTransport) else float(cfg.timeout.m_as("s"))


def _station_driver(config: LabConfig, name: str, world: SimulatedWorld | None) -> StationDriver:
    cfg = config.devices[name].transport
    if not isinstance(cfg, OpcuaTransportConfig):
        return AsciiStationDriver(
            _transport(config, name, world), name, timeout=_timeout(config, name)
        )
    if world is not None:
        endpoint, security = world.endpoints[name], world.opcua_security[name]
    else:
        sec = cfg.security
        password = os.environ.get(sec.password_env) if sec.password_env else None
        if sec.password_env and password is None:
            raise ConfigError(
                f"devices.{name}.transport.security.password_env",
                [f"environment variable {sec.password_env} is not set"],
            )
        assert cfg.endpoint is not None  # checked by LabConfig
        endpoint = cfg.endpoint
        security = OpcuaSecurity(
            sec.mode,
            sec.certificate,
            sec.private_key,
            sec.server_certificate,
            sec.username,
            password,
            allow_insecure=sec.allow_insecure,
        )
    return OpcuaStationDriver(endpoint, name, security, timeout=_timeout(config, name))


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
    engines = parallel_run_engines(run_engine, len(config.stations))
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
    clock: Clock = world.clock if world is not None else WallClock()
    arm_name, arm_cfg = config.arm
    spec_name, spec_cfg = config.spectrometer
    several = len(config.stations) > 1
    return LabDevices(
        arm=RoboticArm(
            AsciiArmDriver(
                _transport(config, arm_name, world),
                arm_name,
                move_timeout=max(
                    _timeout(config, arm_name),
                    float(arm_cfg.move_timeout.m_as("s")) / (world.clock.speed if world else 1.0),
                ),
                timeout=_timeout(config, arm_name),
            ),
            arm_cfg.reach,
            name=arm_name,
        ),
        bays=tuple(
            Bay(
                _station(config, name, world, clock),
                cfg.slot,
                Timer(clock, name=f"{name}_timer" if several else "timer"),
            )
            for name, cfg in config.stations
        ),
        spectrometer=Spectrometer(
            AsciiSpectrometerDriver(
                _transport(config, spec_name, world),
                spec_name,
                timeout=_timeout(config, spec_name),
            ),
            spec_cfg.integration_time.range(),
            name=spec_name,
        ),
        waste=config.role("waste")[0],
        holder=spec_cfg.holder,
        resources=Resources(clock),
        analyser=_analyser(config, world),
        analyser_holder=config.analyser[1].holder if config.analyser else None,
    )


def _station(
    config: LabConfig, name: str, world: SimulatedWorld | None, clock: Clock
) -> SynthesisStation:
    cfg = config.devices[name]
    assert isinstance(cfg, StationConfig)
    return SynthesisStation(
        _station_driver(config, name, world),
        clock,
        reagents=cfg.pumps,
        vial_capacity=config.vial_range,
        temperature=cfg.temperature.range(),
        stir_speed=cfg.stir_speed.range(),
        dispense_rate=cfg.dispense_rate.range(),
        ambient_c=float(cfg.ambient.m_as("degC")),
        stop_patience_s=float(cfg.safe_state_patience.m_as("s")),
        name=name,
    )


def _analyser(config: LabConfig, world: SimulatedWorld | None) -> Analyser | None:
    if config.analyser is None:
        return None
    name, cfg = config.analyser
    speed = world.clock.speed if world else 1.0
    driver = AsciiAnalyserDriver(
        _transport(config, name, world),
        name,
        run_timeout=max(_timeout(config, name), float(cfg.run_timeout.m_as("s")) / speed),
        timeout=_timeout(config, name),
    )
    return Analyser(driver, cfg.fields, name=name)


__all__ = ["Lab", "build_lab", "parallel_run_engines", "threaded_run_engine"]
