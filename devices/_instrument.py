"""The base of devices that stand for one instrument reached through a driver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ophyd_async.core import (
    Device,
    DeviceConnector,
    LazyMock,
    NotConnectedError,
    Signal,
    SignalR,
    StandardReadable,
    set_mock_units,
)

from devices._errors import DeviceDisconnected
from devices._signals import declared_units


@dataclass(frozen=True)
class Identity:
    """What an instrument says it is: ``maker,model,serial,firmware`` (SCPI ``*IDN?``)."""

    maker: str
    model: str
    serial_number: str
    firmware: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        """Read ``maker,model,serial,firmware``; text of another form is kept whole as the model."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            return cls("", text.strip(), "", "")  # an instrument of another convention
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.maker} {self.model}, serial {self.serial_number}, firmware {self.firmware}"


@dataclass(frozen=True)
class InputState:
    """An on/off interlock input (a door switch, a leak sensor) as the instrument latches
    it: on now, and how many times it has come on since the instrument powered up. A host
    that compares the count with the one it saw last sees a pulse that came and went
    between two of its reads."""

    on: bool
    trips: int

    @classmethod
    def parse(cls, text: str) -> InputState:
        """Read ``<level>:<trips>`` (e.g. ``1:3``), as line instruments report an input;
        ``ValueError`` for anything else."""
        level, trips = text.split(":")
        if level not in ("0", "1") or not trips.isdigit():
            raise ValueError(f"not <0|1>:<count>: {text!r}")
        return cls(level == "1", int(trips))


class InstrumentDriver(Protocol):
    """What every instrument's driver offers, whatever the instrument and the wire."""

    @property
    def busy(self) -> bool:
        """A command is in flight: a poll now would wait behind it."""
        ...

    @property
    def link(self) -> str:
        """The wire and, where there is one, the security actually in use."""
        ...

    async def connect(self) -> None:
        """Open the link (claiming the port or endpoint)."""

    async def close(self) -> None:
        """Close the link and release the claim."""

    async def identify(self) -> str:
        """The instrument's identity text, as it reports it."""

    async def state(self) -> str:
        """``idle``, ``busy``, ``estop`` or ``error <text>``, as the instrument reports it."""
        ...

    async def emergency_stop(self) -> None:
        """Stop at once, past anything in progress; returns once the instrument confirms."""
        ...

    async def reset(self) -> None:
        """Clear a latched emergency stop."""
        ...


class InstrumentConnector(DeviceConnector):
    """Opens the instrument's driver once, when the device connects for real (ophyd-async
    caches a connect that succeeded; ``force_reconnect`` opens it again), then lets the
    device check the instrument against its configuration. In mock mode nothing is
    opened: every signal gets a mock backend that keeps the unit it declares."""

    def __init__(self, driver: InstrumentDriver) -> None:
        self.driver = driver

    async def connect_mock(self, device: Device, mock: LazyMock) -> None:
        """Mock every signal below the device; the driver is left alone."""
        await super().connect_mock(device, mock)
        for signal in _signals_below(device):
            units = declared_units(signal)
            if units:
                set_mock_units(signal, units)

    async def connect_real(self, device: Device, timeout: float, force_reconnect: bool) -> None:
        """Connect the signals, open the driver, and check the instrument. Signals of a
        control system (EPICS PVs) that do not connect are a :class:`DeviceDisconnected`
        naming each address."""
        try:
            await super().connect_real(device, timeout, force_reconnect)
        except NotConnectedError as err:
            raise unanswered(device.name, self.driver.link, err) from None
        if force_reconnect:
            await self.driver.close()
        await self.driver.connect()
        assert isinstance(device, InstrumentDevice)
        await device.check_instrument()


def unanswered(name: str, link: str, err: NotConnectedError) -> DeviceDisconnected:
    """Signals of a control system (EPICS PVs) that did not connect, each named."""
    missing = ", ".join(_leaves(err)) or str(err)
    return DeviceDisconnected(
        name,
        f"{link}: no answer from {missing}; check the IOC runs, the PV names in the lab "
        "file and EPICS_CA_ADDR_LIST / EPICS_PVA_ADDR_LIST",
        "connect",
    )


def _leaves(err: NotConnectedError) -> list[str]:
    """The addresses (or messages) at the leaves of a nested connection error."""
    subs = err.sub_errors
    if not subs:
        return [str(err).strip()]
    found: list[str] = []
    for sub in subs.values():
        found += _leaves(sub) if isinstance(sub, NotConnectedError) else [str(sub).strip()]
    return found


def _signals_below(device: Device) -> list[Signal[Any]]:
    return list(signal_paths(device).values())


def signal_paths(device: Device, prefix: str = "") -> dict[str, Signal[Any]]:
    """Every signal below ``device`` by its attribute path (``heater.temperature``): the
    name a person reads, whatever the signal's data key (a movable's readback takes the
    movable's own name, as a motor's does)."""
    found: dict[str, Signal[Any]] = {}
    for attr, child in device.children():
        path = f"{prefix}{attr}"
        if isinstance(child, Signal):
            found[path] = child
        else:
            found.update(signal_paths(child, f"{path}."))
    return found


class InstrumentDevice(StandardReadable):
    """A device that stands for one instrument reached through ``driver``: connecting
    it for real opens the driver once and checks the instrument against its
    configuration (:meth:`check_instrument`); ``connect(mock=True)`` opens nothing.

    Args:
        driver: the codec of the instrument's protocol, over its transport.
        name: the device's name.
    """

    def __init__(self, driver: InstrumentDriver, name: str = "") -> None:
        self.driver = driver
        super().__init__(name=name, connector=InstrumentConnector(driver))

    async def check_instrument(self) -> None:
        """Read the instrument's state and refuse a mismatch with the configuration."""

    def reading_names(self) -> dict[str, str]:
        """Each signal's data key -> the name a person reads it by, one style on every
        surface: its path below the device in words (``heater temperature``, ``door
        open``), unless the device knows a better one."""
        return {
            signal.name: path.replace(".", " ").replace("_", " ")
            for path, signal in signal_paths(self).items()
        }

    def live_signals(self) -> dict[str, SignalR[Any]]:
        """The signals read on a path that no command in progress blocks (a real-time
        query, a subscription), by their path below the device. Only these may be
        interlocks: an interlock is read while its device works."""
        return {}

    def measured(self) -> list[SignalR[Any]]:
        """The signals that hold the last measurement (set when the device is triggered,
        not read when polled): their age is how long ago it measured, not a reading gone
        stale."""
        return []

    def pushed(self) -> list[SignalR[Any]]:
        """The signals a control system pushes on every change (EPICS monitors): their
        timestamp is when the value last changed, not when it was last confirmed; they
        are current for as long as the device answers."""
        return []

    async def latched_inputs(self) -> dict[str, InputState]:
        """The on/off inputs among :meth:`live_signals` that the instrument latches, by
        the same paths, read afresh on the real-time path."""
        return {}

    async def identity(self) -> Identity:
        """Maker, model, serial number and firmware, as the instrument reports them."""
        return Identity.parse(await self.driver.identify())

    async def emergency_stop(self) -> None:
        """The instrument's real-time stop, confirmed by the instrument."""
        await self.driver.emergency_stop()

    async def reset(self) -> None:
        """Clear the latched emergency stop."""
        await self.driver.reset()
