"""Command dispatch shared by every simulated line-protocol instrument."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from simulators.clock import SimClock

Handler = Callable[..., Awaitable[str | None]]


class FirmwareError(Exception):
    """An instrument-side error, replied to the host as ``ERR <message>``."""


class LineFirmware:
    """One request line in, one reply line out.

    Subclasses register commands in ``commands``; a handler returns a payload (replied as
    ``OK <payload>``) or None (replied as ``OK``).
    """

    identity = "SimInstrument"

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.commands: dict[str, Handler] = {"*IDN?": self._identify}
        #: set to a message to put the instrument in its error state (fault injection):
        #: every command but ``*IDN?`` then answers ``ERR <message>``
        self.error_state: str | None = None

    async def _identify(self) -> str:
        return self.identity

    async def handle(self, line: str) -> str:
        parts = line.strip().split()
        if not parts:
            return "ERR empty command"
        name, args = parts[0].upper(), parts[1:]
        if self.error_state is not None and name != "*IDN?":
            return f"ERR {self.error_state}"
        handler = self.commands.get(name)
        if handler is None:
            return f"ERR unknown command {name}"
        try:
            inspect.signature(handler).bind(*args)
        except TypeError:
            return f"ERR wrong number of arguments for {name}"
        try:
            payload = await handler(*args)
        except FirmwareError as err:
            return f"ERR {err}"
        except ValueError:
            return f"ERR bad arguments for {name}: {' '.join(args)!r}"
        return "OK" if payload is None else f"OK {payload}"
