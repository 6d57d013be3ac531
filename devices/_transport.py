"""Transports carry one request line to an instrument and bring its reply line back.

Device classes and codecs never know which transport they run over; the lab config
chooses. ``InProcessTransport`` calls a simulator's handler directly; the serial and OPC UA
transports plug in behind the same :class:`Transport` protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from devices._errors import DeviceDisconnected, DeviceTimeout

#: what starts the reply to a real-time query on a line protocol (as GRBL frames its
#: real-time status reports), so it is never taken for the reply to the request in flight
REALTIME_REPLY = "!"


class Transport(Protocol):
    """Moves request lines to an instrument and reply lines back, whatever the wire (serial, in-process)."""

    name: str

    @property
    def link(self) -> str:
        """The wire, as a person checking the cabling would name it."""
        ...

    @property
    def busy(self) -> bool:
        """A request is in flight (the line is taken until its reply arrives)."""
        ...

    async def connect(self) -> None:
        """Open the link."""

    async def close(self) -> None:
        """Close the link."""

    async def request(self, line: str, timeout: float, idempotent: bool = False) -> str:
        """One reply line. ``idempotent`` marks a query a transport may safely retry."""
        ...

    async def send_urgent(self, line: str) -> None:
        """Send a real-time command at once, past any request in flight; it has no reply."""
        ...

    async def realtime(self, line: str, timeout: float) -> str:
        """Ask a real-time query at once, past any request in flight; its reply (the line
        the instrument starts with ``!``, without it) never waits behind that request."""
        ...


class InProcessTransport:
    """Hands each line to an in-process handler (a simulator's firmware)."""

    def __init__(self, handler: Callable[[str], Awaitable[str]], name: str) -> None:
        self._handler = handler
        self.name = name
        self._connected = False
        self._lock = asyncio.Lock()

    @property
    def link(self) -> str:
        """Says it is an in-process simulator."""
        return "in-process simulator"

    async def connect(self) -> None:
        """Start handing lines to the handler."""
        self._connected = True

    async def close(self) -> None:
        """Stop handing lines to the handler."""
        self._connected = False

    @property
    def busy(self) -> bool:
        """A request is in flight."""
        return self._lock.locked()

    async def send_urgent(self, line: str) -> None:
        """Hand a real-time command to the handler at once."""
        if not self._connected:
            raise DeviceDisconnected(self.name, "not connected", line)
        await self._handler(line)

    async def realtime(self, line: str, timeout: float) -> str:
        """Hand a real-time query to the handler at once; its reply without the ``!``."""
        if not self._connected:
            raise DeviceDisconnected(self.name, "not connected", line)
        try:
            reply = await asyncio.wait_for(self._handler(line), timeout)
        except TimeoutError:
            raise DeviceTimeout(self.name, f"no reply within {timeout:g} s", line) from None
        return reply.removeprefix(REALTIME_REPLY)

    async def request(self, line: str, timeout: float, idempotent: bool = False) -> str:
        """Hand one line to the handler and return its reply (within ``timeout``)."""
        if not self._connected:
            raise DeviceDisconnected(self.name, "not connected", line)
        async with self._lock:  # one request in flight, as on a serial line
            try:
                return await asyncio.wait_for(self._handler(line), timeout)
            except TimeoutError:
                raise DeviceTimeout(self.name, f"no reply within {timeout:g} s", line) from None
