"""Command dispatch shared by every simulated line-protocol instrument."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import time
from collections.abc import Awaitable, Callable

from simulators.clock import SimClock

Handler = Callable[..., Awaitable[str | None]]
#: a real-time command's handler: its reply payload, or None for a command with no reply
RealtimeHandler = Callable[[], str | None]
#: what starts the reply to a real-time query, so a host tells it from the reply to the
#: command in progress (as GRBL frames its real-time status reports)
REALTIME_REPLY = "!"

ESTOP_LATCHED = "emergency stop latched; RESET required"


class FirmwareError(Exception):
    """An instrument-side error, replied to the host as ``ERR <message>``."""


class LineFirmware:
    """One request line in, one reply line out.

    Subclasses register commands in ``commands``; a handler returns a payload (replied as
    ``OK <payload>``) or None (replied as ``OK``). Every instrument also knows ``STATE?``,
    ``RESET`` and the real-time ``ESTOP``: acted on the moment it arrives, past any command
    in progress (which then answers ``ERR``), with no reply of its own, like a hard-wired
    stop button. The stop latches: only queries, ``STOP`` and ``RESET`` are served until a
    ``RESET``.

    Real-time commands (``realtime``) are answered the moment they arrive, past the command
    in progress: ``ESTOP`` with no reply, a real-time query (such as the station's
    ``SENSE``) with one line that starts with ``!``.
    """

    #: what ``*IDN?`` answers: maker, model, serial number, firmware version (as SCPI does)
    maker, model, serial_number, firmware_version = "SDL-Sim", "Instrument", "SN0000", "1.0"
    _ALWAYS = frozenset({"*IDN?", "STATE?"})
    _WHEN_LATCHED = frozenset({"STOP", "RESET"})

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.commands: dict[str, Handler] = {
            "*IDN?": self._identify,
            "STATE?": self._state,
            "RESET": self._reset,
        }
        #: set to a message to put the instrument in its error state (fault injection):
        #: every command but ``*IDN?``, ``STATE?`` and ``ESTOP`` then answers ``ERR <message>``
        self.error_state: str | None = None
        #: fault injection: called with each command's name as it arrives (e.g. to unplug
        #: the port or reboot a PLC in the middle of a dispense)
        self.on_command: Callable[[str], None] | None = None
        self.estopped = False
        #: when the last emergency stop arrived: (lab seconds, wall monotonic seconds)
        self.stopped_at: tuple[float, float] | None = None
        self._interrupt = asyncio.Event()
        #: commands a wire server hands over at once instead of queueing behind the one in
        #: progress (subclasses add real-time queries)
        self.realtime: dict[str, RealtimeHandler] = {"ESTOP": self._estop}

    def notice(self, command: str) -> None:
        """A command arrived, by whatever wire (fault injection hooks in here)."""
        if self.on_command is not None:
            self.on_command(command)

    def tick(self) -> None:
        """Called by the wire server about every 0.1 s of real time, for the instrument's
        own duties (the station watches for its controller's heartbeat)."""

    def is_realtime(self, line: str) -> bool:
        """A real-time command, to be handed over past the one in progress."""
        parts = line.split()
        return bool(parts) and parts[0].upper() in self.realtime

    def answer_realtime(self, line: str) -> str | None:
        """Act on a real-time command now; its reply line (``!<payload>``), or None if it
        has none."""
        name = line.split()[0].upper()
        self.notice(name)
        payload = self.realtime[name]()
        return None if payload is None else f"{REALTIME_REPLY}{payload}"

    def emergency_stop(self) -> None:
        """Latch the stop, put the instrument in its safe state, end what is in progress."""
        self.estopped = True
        self.stopped_at = (self.clock.now(), time.monotonic())
        self._halt()
        self._interrupt.set()

    def _estop(self) -> None:
        self.emergency_stop()

    def _halt(self) -> None:
        """The instrument's own safe state (subclasses: heater off, motion stopped, ...)."""

    async def busy_for(self, seconds: float) -> None:
        """Lab time an operation takes; it ends early, with an error, on an emergency stop."""
        interrupt = self._interrupt
        if interrupt.is_set():
            raise FirmwareError("stopped by emergency stop")
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waiter = asyncio.ensure_future(interrupt.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waiter):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if interrupt.is_set():
            raise FirmwareError("stopped by emergency stop")

    @property
    def identity(self) -> str:
        """What ``*IDN?`` answers."""
        return f"{self.maker},{self.model},{self.serial_number},{self.firmware_version}"

    async def _identify(self) -> str:
        return self.identity

    async def _state(self) -> str:
        if self.estopped:
            return "ESTOP"
        if self.error_state is not None:
            return f"ERROR {self.error_state}"
        return "IDLE"

    async def _reset(self) -> None:
        self.estopped = False
        if self.error_state is not None:
            if not self.error_state.startswith("internal fault"):
                raise FirmwareError(self.error_state)  # hardware trouble outlives a reset
            self.error_state = None  # resetting the controller clears its own fault
        self._interrupt = asyncio.Event()

    async def handle(self, line: str) -> str:
        """One request line in, one reply line out."""
        parts = line.strip().split()
        if not parts:
            return "ERR empty command"
        name, args = parts[0].upper(), parts[1:]
        if name in self.realtime:
            return self.answer_realtime(line) or "OK"
        self.notice(name)
        if self.error_state is not None and name not in self._ALWAYS | {"RESET"}:
            return f"ERR {self.error_state}"
        if self.estopped and not (name.endswith("?") or name in self._WHEN_LATCHED):
            return f"ERR {ESTOP_LATCHED}"
        handler = self.commands.get(name)
        if handler is None:
            return f"ERR unknown command {name}"
        values = _arguments(handler, args)
        if values is None:
            return f"ERR wrong number of arguments for {name}"
        if len(values) < len(args):
            return f"ERR bad arguments for {name}: {' '.join(args)!r}"
        try:
            payload = await handler(*values)
        except FirmwareError as err:
            return f"ERR {err}"
        except Exception as err:  # a bug in the instrument: as real firmware, it faults
            self.error_state = f"internal fault in {name}: {type(err).__name__}: {err}"
            self._halt()
            return f"ERR {self.error_state}"
        return "OK" if payload is None else f"OK {payload}"


def _arguments(handler: Handler, args: list[str]) -> list[object] | None:
    """The command's arguments converted to the handler's annotated types, as far as they
    convert (a malformed request is the host's error, not the instrument's); None if their
    number is wrong."""
    signature = inspect.signature(handler, eval_str=True)
    try:
        signature.bind(*args)
    except TypeError:
        return None
    values: list[object] = []
    for arg, parameter in zip(args, signature.parameters.values(), strict=False):
        kind = parameter.annotation if parameter.annotation in (int, float) else str
        try:
            value = kind(arg)
        except ValueError:
            break
        if isinstance(value, float) and not math.isfinite(value):
            break
        values.append(value)
    return values
