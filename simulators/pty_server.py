"""Serve a line firmware on a real pseudo-terminal, so serial drivers are tested as wired.

``path`` is a stable symlink to the current pty: after a simulated unplug (``disconnect``)
and re-plug (``reconnect``) the driver finds its port at the same path, as with a udev
rule on a real lab PC. Faults are injected on demand for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import pty
import tty
from pathlib import Path

from simulators.firmware import LineFirmware

#: how often (real seconds) a served firmware attends to its own duties
TICK_S = 0.1


class Fault(enum.Enum):
    """Wire faults a :class:`PtyServer` can inject into its replies (see ``inject``)."""

    NO_REPLY = "no_reply"  # swallow the request
    GARBLED = "garbled"  # reply with line noise
    PARTIAL = "partial"  # half a reply, no terminator
    SLOW = "slow"  # reply after ``slow_s`` real seconds


class PtyServer:
    """Serves an instrument's firmware on a real pseudo-terminal, so the lab's serial driver talks to it exactly as to hardware; faults can be injected on the wire.

    Args:
        firmware: answers each command line.
        path: where to put a symbolic link to the pty, the name the driver opens.
        terminator: the bytes that end a line on this wire.
        slow_s: the delay of the ``slow`` fault (seconds).
    """

    def __init__(
        self, firmware: LineFirmware, path: Path, terminator: bytes = b"\n", slow_s: float = 1.0
    ) -> None:
        self.firmware = firmware
        self.path = Path(path)
        self.terminator = terminator
        self.slow_s = slow_s
        self.requests: list[str] = []
        self._faults: list[tuple[Fault, str | None]] = []
        self._master: int | None = None
        self._slave: int | None = None
        self._buffer = bytearray()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the pseudo-terminal and link it at ``path``."""
        self._plug()
        self._worker = asyncio.create_task(self._serve(), name=f"pty:{self.path.name}")
        self._ticker = asyncio.create_task(self._tick(), name=f"pty-tick:{self.path.name}")

    async def stop(self) -> None:
        """Close it and remove the link."""
        self._unplug()
        for task in (self._worker, self._ticker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._worker = self._ticker = None

    async def _tick(self) -> None:
        """The firmware's own duties, whether or not anyone talks to it."""
        while True:
            await asyncio.sleep(TICK_S)
            self.firmware.tick()

    def inject(self, fault: Fault, times: int = 1, on: str | None = None) -> None:
        """The next ``times`` requests (those starting with ``on``, if given) meet ``fault``."""
        self._faults += [(fault, on)] * times

    def disconnect(self) -> None:
        """Unplug: the port and its path disappear."""
        self._unplug()

    def reconnect(self) -> None:
        """Plug back in, at the same path."""
        self._plug()

    # --- the pty ---------------------------------------------------------------------
    def _plug(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)  # no echo, no newline translation: bytes as sent
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.path)
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _unplug(self) -> None:
        if self._master is None:
            return
        asyncio.get_running_loop().remove_reader(self._master)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)  # type: ignore[arg-type]
        self._master = self._slave = None
        self.path.unlink(missing_ok=True)
        self._buffer.clear()

    def _readable(self) -> None:
        assert self._master is not None
        try:
            self._buffer += os.read(self._master, 4096)
        except OSError:
            return
        while self.terminator in self._buffer:
            line, _, rest = bytes(self._buffer).partition(self.terminator)
            self._buffer[:] = rest
            text = line.decode("ascii", errors="replace")
            if self.firmware.is_realtime(text):  # past the queue, answered at once
                self.requests.append(text)
                reply = self.firmware.answer_realtime(text)
                if reply is not None:
                    self._write(reply.encode() + self.terminator)
            else:
                self._queue.put_nowait(text)

    def _write(self, data: bytes) -> None:
        if self._master is not None:
            with contextlib.suppress(OSError):
                os.write(self._master, data)

    async def _serve(self) -> None:
        """One request at a time, in order, as a real instrument's firmware does."""
        while True:
            line = await self._queue.get()
            self.requests.append(line)
            fault = self._fault_for(line)
            if fault is Fault.NO_REPLY:
                continue
            reply = (await self.firmware.handle(line)).encode()
            if fault is Fault.GARBLED:
                reply = b"\x15#\xfe%" + reply[::-1]
            elif fault is Fault.PARTIAL:
                self._write(reply[: max(1, len(reply) // 2)])
                continue
            elif fault is Fault.SLOW:
                await asyncio.sleep(self.slow_s)
            self._write(reply + self.terminator)

    def _fault_for(self, line: str) -> Fault | None:
        for i, (fault, on) in enumerate(self._faults):
            if on is None or line.upper().startswith(on.upper()):
                del self._faults[i]
                return fault
        return None
