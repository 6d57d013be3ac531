"""The lab's instrument interface (identity, state, emergency stop) over an EPICS IOC's
process variables, so that an EPICS device joins the same safety model as a line
instrument: the lab asks every device the same questions."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ophyd_async.core import NotConnectedError, SignalR, SignalRW

from devices._errors import DeviceDisconnected, DeviceFault

T = TypeVar("T")

#: EPICS alarm severities as ophyd-async reports them in a reading
_SEVERITY = {0: "NO_ALARM", 1: "MINOR", 2: "MAJOR", -1: "INVALID"}


class EpicsDriver:
    """Answers the lab's questions from PVs: identity from a string PV, the emergency
    stop as a latched binary PV, the state from the stop and the alarm severity of the
    PVs that matter. The PVs are the device's own signals (connected, and mocked, with
    it); :meth:`attach` hands them over once the device has made them.

    Args:
        name: the device's name, for errors.
        link: the protocol and prefix, as ``lab devices`` shows the link.
        timeout: how long (real seconds) a PV may take to answer.
    """

    def __init__(self, name: str, link: str, timeout: float) -> None:
        self.name = name
        self._link = link
        self.timeout = timeout
        self._identity: SignalR[str] | None = None
        self._estop: SignalRW[bool] | None = None
        self._watched: tuple[SignalR[Any], ...] = ()

    def attach(
        self, identity: SignalR[str], estop: SignalRW[bool], watched: Sequence[SignalR[Any]]
    ) -> None:
        """The device's PVs: its identity text, its emergency-stop latch, and the PVs
        whose alarm severity is its state."""
        self._identity, self._estop, self._watched = identity, estop, tuple(watched)

    @property
    def busy(self) -> bool:
        """Never: PVs are read and written concurrently, nothing waits behind a command."""
        return False

    @property
    def link(self) -> str:
        """EPICS, the protocol and the PV prefix."""
        return self._link

    async def connect(self) -> None:
        """Nothing more: the PVs connect with the device (ophyd-async's EPICS backends)."""

    async def close(self) -> None:
        """Nothing to release: CA and PVA channels belong to the process's client context."""

    async def identify(self) -> str:
        """The identity PV's text (``maker,model,serial,firmware``)."""
        return await self._ask("identity", lambda: self._signals()[0].get_value(cached=False))

    async def state(self) -> str:
        """``estop`` while the stop is latched; ``error <pv> in MAJOR alarm`` (or INVALID)
        while a watched PV is; ``idle`` otherwise."""
        identity, estop = self._signals()
        del identity
        if await self._ask("state", lambda: estop.get_value(cached=False)):
            return "estop"
        for signal in self._watched:
            reading = await self._ask("state", functools.partial(signal.read, cached=False))
            severity = next(iter(reading.values())).get("alarm_severity", 0)
            if severity in (2, -1):
                source = signal.source.split("://")[-1]
                return f"error {source} in {_SEVERITY[severity]} alarm"
        return "idle"

    async def emergency_stop(self) -> None:
        """Latch the stop PV and read it back latched."""
        estop = self._signals()[1]
        await self._ask("emergency stop", lambda: estop.set(True, timeout=self.timeout))
        if not await self._ask("emergency stop", lambda: estop.get_value(cached=False)):
            raise DeviceFault(self.name, "the stop PV did not latch", "emergency stop")

    async def reset(self) -> None:
        """Clear the stop PV."""
        estop = self._signals()[1]
        await self._ask("reset", lambda: estop.set(False, timeout=self.timeout))

    def _signals(self) -> tuple[SignalR[str], SignalRW[bool]]:
        assert self._identity is not None and self._estop is not None, "attach() first"
        return self._identity, self._estop

    async def _ask(self, command: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call``, with a PV that does not answer as :class:`DeviceDisconnected`."""
        try:
            return await asyncio.wait_for(call(), self.timeout)
        except (TimeoutError, NotConnectedError) as err:
            raise DeviceDisconnected(
                self.name, f"{self._link} did not answer ({err or 'timed out'})", command
            ) from None
