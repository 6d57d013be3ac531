"""Signals and commands backed by an instrument's driver.

Their backends are not soft backends, so ``connect(mock=True)`` gives each a fresh
``MockSignalBackend`` (or ``MockCommandBackend``) that never touches the driver: a plan
runs against a mocked device with ``set_mock_value`` and ``callback_on_mock_put``, as on
any ophyd-async device.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from bluesky.protocols import Reading
from event_model import DataKey
from ophyd_async.core import (
    Callback,
    Command,
    CommandBackend,
    Signal,
    SignalBackend,
    SignalDatatype,
    SignalR,
    SignalRW,
    SoftSignalBackend,
    TriggerableCommand,
)

T = TypeVar("T", bound=SignalDatatype)
R = TypeVar("R")

#: how often (real seconds) a subscribed instrument signal asks its instrument again, so
#: a movable waiting on its readback sees it change
POLL_PERIOD_S = 0.1

#: signal -> the unit it declares, kept beside the signal so that its mock (which knows
#: only the datatype) can declare it too
_UNITS: weakref.WeakKeyDictionary[Signal[Any], str] = weakref.WeakKeyDictionary()


def declared_units(signal: Signal[Any]) -> str | None:
    """The unit an instrument signal declares, whatever backend it has now."""
    return _UNITS.get(signal)


class InstrumentSignalBackend(SignalBackend[T]):
    """Reads (and writes) a value by asking the instrument: every read is what the
    instrument says now, stamped with when it said it.

    Args:
        datatype: the value's type.
        getter: asks the instrument for the value.
        setter: sends a new value to the instrument; None for a read-only signal.
        units: the unit a bare number means (what ``describe()`` declares).
        source: where the value comes from, as a person would name it (``station/VIAL?``).
    """

    def __init__(
        self,
        datatype: type[T],
        getter: Callable[[], Awaitable[T]],
        setter: Callable[[T], Awaitable[None]] | None = None,
        units: str | None = None,
        source: str = "",
    ) -> None:
        self._values = SoftSignalBackend(
            datatype,
            units=units,
            getter=getter,
            setter=setter,  # type: ignore[arg-type]  # a None write is never sent
        )
        self._following: asyncio.Task[None] | None = None
        self._source = source
        self.units = units
        super().__init__(datatype)

    def source(self, name: str, read: bool) -> str:
        """``instrument://`` and what is asked."""
        return f"instrument://{self._source or name}"

    async def connect(self, timeout: float) -> None:
        """Nothing to open: the device's connector opens the driver, once."""

    async def put(self, value: T | None) -> None:
        """Send the value to the instrument, then read it back."""
        await self._values.put(value)

    async def get_datakey(self, source: str) -> DataKey:
        """What the value is, with its unit."""
        return await self._values.get_datakey(source)

    async def get_reading(self) -> Reading[T]:
        """The value the instrument reports now."""
        return await self._values.get_reading()

    async def get_value(self) -> T:
        """The value the instrument reports now."""
        return await self._values.get_value()

    async def get_setpoint(self) -> T:
        """The value last written."""
        return await self._values.get_setpoint()

    def set_callback(self, callback: Callback[Reading[T]] | None) -> None:
        """Follow the value: asked of the instrument now, then every ``POLL_PERIOD_S``
        while someone follows it (a staged signal is followed: its reads are the last
        answer, never a value from before it was staged)."""
        if self._following is not None:
            self._following.cancel()
            self._following = None
        if callback is None:
            self._values.set_callback(None)
            return
        following = False

        def forward(reading: Reading[T]) -> None:
            if following:  # not the value held from before the follow began
                callback(reading)

        self._values.set_callback(forward)
        following = True
        self._following = asyncio.ensure_future(self._follow())

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a follower reads on; a reader sees the error
                await self._values.get_value()
            await asyncio.sleep(POLL_PERIOD_S)


def instrument_r(
    datatype: type[T],
    getter: Callable[[], Awaitable[T]],
    units: str | None = None,
    source: str = "",
) -> SignalR[T]:
    """A read-only signal whose every read asks the instrument (see
    :class:`InstrumentSignalBackend`)."""
    return with_units(
        SignalR(InstrumentSignalBackend(datatype, getter, units=units, source=source)), units
    )


def instrument_rw(
    datatype: type[T],
    getter: Callable[[], Awaitable[T]],
    setter: Callable[[T], Awaitable[None]],
    units: str | None = None,
    source: str = "",
    timeout: float | None = None,
) -> SignalRW[T]:
    """A writable signal: a write is sent to the instrument, a read asks it. ``timeout``
    bounds a write (None: the driver's own timeouts bound it)."""
    backend = InstrumentSignalBackend(datatype, getter, setter, units=units, source=source)
    return with_units(SignalRW(backend, timeout=timeout), units)


S = TypeVar("S", bound=Signal[Any])


def with_units(signal: S, units: str | None) -> S:
    """``signal``, declaring ``units`` also when it is mocked (a mock knows only its
    datatype; a real EPICS signal learns its unit from the IOC)."""
    if units:
        _UNITS[signal] = units
    return signal


class InstrumentCommandBackend(CommandBackend[..., R], Generic[R]):
    """Runs one driver coroutine as an ophyd-async command; in mock mode a mock runs
    instead (see ``callback_on_mock_execute``)."""

    def __init__(self, call: Callable[..., Awaitable[R]], source: str = "") -> None:
        self._call = call
        self._source = source
        super().__init__(inspect.signature(call, eval_str=True))

    def source(self, name: str) -> str:
        """``instrument://`` and what is sent."""
        return f"instrument://{self._source or name}"

    async def connect(self, timeout: float) -> None:
        """Nothing to open: the device's connector opens the driver, once."""

    async def execute(self, *args: Any, **kwargs: Any) -> R:
        """Send the command; returns what the instrument answers."""
        return await self._call(*args, **kwargs)


def instrument_command(call: Callable[..., Awaitable[R]], source: str = "") -> Command[..., R]:
    """A command with arguments (``await pump.dispense.execute(1.5, 10)``); the driver's
    timeouts bound it, not ophyd-async's default."""
    return Command(InstrumentCommandBackend(call, source), timeout=None)


def instrument_action(call: Callable[[], Awaitable[None]], source: str = "") -> TriggerableCommand:
    """A command without arguments or answer (``await spectrometer.acquire.trigger()``)."""
    return TriggerableCommand(InstrumentCommandBackend(call, source), timeout=None)


class SharedQuery(Generic[R]):
    """One instrument query whose answer several signals read: concurrent readers (a
    device's ``read()`` reads its signals at once) share the query in flight, so one
    ``read()`` asks the instrument once, and each still sees an answer of now.

    Args:
        ask: the query.
    """

    def __init__(self, ask: Callable[[], Awaitable[R]]) -> None:
        self._ask = ask
        self._in_flight: asyncio.Future[R] | None = None

    async def __call__(self) -> R:
        """The answer of the query in flight, or of a new one."""
        if self._in_flight is None:
            self._in_flight = asyncio.ensure_future(self._ask())
            self._in_flight.add_done_callback(self._done)
        return await asyncio.shield(self._in_flight)

    def _done(self, future: asyncio.Future[R]) -> None:
        self._in_flight = None
        if not future.cancelled():
            future.exception()  # its readers raise it; a reader gone does not leave it unseen

    def field(self, pick: Callable[[R], T]) -> Callable[[], Awaitable[T]]:
        """A getter of one part of the answer."""

        async def get() -> T:
            return pick(await self())

        return get
