"""The reply grammar shared by our ASCII instruments: ``OK [payload]`` or ``ERR <text>``."""

from __future__ import annotations

from devices._errors import DeviceFault, ProtocolError
from devices._transport import Transport

#: how often a query with a garbled reply is asked again (line noise passes)
GARBLED_QUERY_RETRIES = 2


class LineChannel:
    """Sends commands over a transport and turns replies into payloads or typed errors."""

    def __init__(self, transport: Transport, device: str, timeout: float = 5.0) -> None:
        self.transport = transport
        self.device = device
        self.timeout = timeout

    async def connect(self) -> None:
        """Open the transport."""
        await self.transport.connect()

    async def close(self) -> None:
        """Close the transport."""
        await self.transport.close()

    async def call(self, command: str, timeout: float | None = None) -> str:
        """Send ``command``; return the reply's payload ('' for a bare ``OK``). A query
        (it changes nothing) whose reply is garbled is asked again; a command is not."""
        query = command.split(" ", 1)[0].endswith("?")
        for attempt in range(1 + (GARBLED_QUERY_RETRIES if query else 0)):
            try:
                return await self._call(command, timeout, query)
            except ProtocolError:
                if not query or attempt == GARBLED_QUERY_RETRIES:
                    raise
        raise AssertionError("unreachable")

    async def _call(self, command: str, timeout: float | None, query: bool) -> str:
        reply = (
            await self.transport.request(command, timeout or self.timeout, idempotent=query)
        ).strip()
        if reply == "OK":
            return ""
        if reply.startswith("OK "):
            return reply[3:]
        if reply.startswith("ERR"):
            raise DeviceFault(self.device, reply[3:].strip() or "unspecified error", command)
        raise ProtocolError(self.device, f"unexpected reply {reply[:80]!r}", command)

    async def realtime(self, command: str) -> str:
        """Ask a real-time query (answered past the command in flight); its payload."""
        reply = (await self.transport.realtime(command, self.timeout)).strip()
        if reply.startswith("ERR"):
            raise DeviceFault(self.device, reply[3:].strip() or "unspecified error", command)
        return reply

    async def number(self, command: str) -> float:
        """Send a query whose payload is a number; a reply that is not one is a ``ProtocolError``."""
        payload = await self.call(command)
        try:
            return float(payload)
        except ValueError:
            raise ProtocolError(
                self.device, f"expected a number, got {payload[:80]!r}", command
            ) from None


class AsciiDriver:
    """Base of the drivers whose instrument speaks this grammar."""

    def __init__(self, transport: Transport, device: str, timeout: float = 5.0) -> None:
        self._io = LineChannel(transport, device, timeout)
        self._device = device

    async def connect(self) -> None:
        """Open the link."""
        await self._io.connect()

    async def close(self) -> None:
        """Close the link."""
        await self._io.close()

    @property
    def busy(self) -> bool:
        """A command is in flight on the line."""
        return self._io.transport.busy

    @property
    def link(self) -> str:
        """The wire in use (see the transport's ``link``)."""
        return self._io.transport.link

    async def identify(self) -> str:
        """The ``*IDN?`` answer."""
        return await self._io.call("*IDN?")

    async def state(self) -> str:
        """``idle``, ``estop`` or ``error <text>``, as the instrument reports it."""
        reply = await self._io.call("STATE?")
        word, _, rest = reply.partition(" ")
        return f"{word.lower()} {rest}".strip()

    async def emergency_stop(self) -> None:
        """Real-time stop past any command in flight, then the instrument's confirmation."""
        await self._io.transport.send_urgent("ESTOP")
        state = await self.state()
        if state != "estop":
            raise DeviceFault(
                self._device, f"did not confirm the emergency stop ({state})", "ESTOP"
            )

    async def reset(self) -> None:
        """Clear a latched emergency stop (``RESET``)."""
        await self._io.call("RESET")
