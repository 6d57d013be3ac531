"""The base of devices that stand for one instrument reached through a driver."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ophyd_async.core import DEFAULT_TIMEOUT, SignalR, StandardReadable, soft_signal_r_and_setter

T = TypeVar("T", str, float)


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


def read_back(
    datatype: type[T], getter: Callable[[], Awaitable[T]], units: str | None = None
) -> SignalR[T]:
    """A signal whose every read asks the instrument: the value is what the instrument says
    now, stamped with the time it said it, never a number some earlier call left behind."""
    signal, _ = soft_signal_r_and_setter(datatype, getter=getter, units=units)
    return signal


async def read_afresh(*signals: SignalR[Any]) -> None:
    """Ask the instrument for each signal now, so that a staged signal (bluesky caches what
    a plan stages) holds the present value too."""
    await asyncio.gather(*(s.get_value(cached=False) for s in signals))


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


class InstrumentDevice(StandardReadable):
    """Connecting opens the driver, then ``_on_connect`` checks that the instrument
    matches its configuration. In mock mode the driver is left alone."""

    driver: Any

    async def connect(  # type: ignore[override]
        self, mock: bool = False, timeout: float = DEFAULT_TIMEOUT, force_reconnect: bool = False
    ) -> None:
        """Connect the signals, then the driver, then check the instrument against its configuration."""
        await super().connect(mock=mock, timeout=timeout, force_reconnect=force_reconnect)
        if not mock:
            await self.driver.connect()
            await self._on_connect()

    async def _on_connect(self) -> None:
        """Read the instrument's state and refuse a mismatch with the configuration."""

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

    async def latched_inputs(self) -> dict[str, InputState]:
        """The on/off inputs among :meth:`live_signals` that the instrument latches, by
        the same paths, read afresh on the real-time path."""
        return {}

    async def refresh(self) -> None:
        """Read every signal afresh from the instrument (see :func:`read_afresh`)."""

    async def identity(self) -> Identity:
        """Maker, model, serial number and firmware, as the instrument reports them."""
        return Identity.parse(await self.driver.identify())

    async def emergency_stop(self) -> None:
        """The instrument's real-time stop, confirmed by the instrument."""
        await self.driver.emergency_stop()

    async def reset(self) -> None:
        """Clear the latched emergency stop, then read the instrument afresh."""
        await self.driver.reset()
        await self.refresh()
