"""A line-protocol transport over a serial port (pyserial), driven from asyncio.

Reads come from the event loop's reader callback on the port's file descriptor, so no
thread blocks and a cancelled request leaves nothing behind. Only idempotent queries are
retried; a command that moves or dispenses is sent once, and a timeout on it is reported
as an outcome the operator must check. A real-time query is written past the request in
flight; its reply, a line that starts with ``!``, is taken out of the stream as it arrives,
so neither reply is ever mistaken for the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import serial

from devices._errors import DeviceDisconnected, DeviceTimeout
from devices._resource_lock import ResourceLock
from devices._transport import REALTIME_REPLY

#: the first wait before an idempotent query is asked again; doubled on each retry
RETRY_BACKOFF_S = 0.05


class SerialTransport:
    """An ASCII line protocol over a serial port (pyserial, without blocking the event loop): one request in flight, idempotent queries retried, the port claimed exclusively while open."""

    def __init__(
        self,
        port: str,
        name: str,
        baudrate: int = 115200,
        terminator: str = "\n",
        retries: int = 2,
    ) -> None:
        self.port = port
        self.name = name
        self.baudrate = baudrate
        self.terminator = terminator.encode()
        self.retries = retries
        self._serial: serial.Serial | None = None
        self._buffer = bytearray()
        self._data = asyncio.Event()
        self._lost: str | None = None
        self._lock = asyncio.Lock()
        self._realtime_lock = asyncio.Lock()
        self._realtime_reply: asyncio.Future[str] | None = None
        self._wanted = False
        self._claim = ResourceLock.for_file(port, name)

    @property
    def link(self) -> str:
        """The port and baud rate."""
        return f"serial {self.port}, {self.baudrate} baud"

    # --- link ------------------------------------------------------------------------
    async def connect(self) -> None:
        """Claim the port (exclusively) and open it; raises ``DeviceBusy`` or ``DeviceDisconnected``."""
        self._claim.acquire()  # held until close(), across unplug and re-plug
        self._wanted = True
        self._open()

    async def close(self) -> None:
        """Close the port and release the claim."""
        self._wanted = False
        self._drop()
        self._claim.release()

    @property
    def busy(self) -> bool:
        """A request is in flight."""
        return self._lock.locked()

    def _open(self) -> None:
        try:
            port = serial.Serial(self.port, self.baudrate, timeout=0, write_timeout=1.0)
        except (serial.SerialException, OSError) as err:
            errno = err.args[0] if err.args and isinstance(err.args[0], int) else None
            reason = os.strerror(errno) if errno is not None else str(err)
            raise DeviceDisconnected(self.name, f"cannot open {self.port}: {reason}") from None
        self._serial, self._lost = port, None
        self._buffer.clear()
        asyncio.get_running_loop().add_reader(port.fileno(), self._readable)

    def _drop(self) -> None:
        if self._serial is None:
            return
        with contextlib.suppress(ValueError, OSError, serial.SerialException):
            asyncio.get_running_loop().remove_reader(self._serial.fileno())
        with contextlib.suppress(OSError, serial.SerialException):
            self._serial.close()
        self._serial = None
        self._data.set()  # wake a waiting request so it sees the loss
        if self._realtime_reply is not None and not self._realtime_reply.done():
            self._realtime_reply.set_exception(
                DeviceDisconnected(self.name, self._lost or "port closed")
            )

    def _readable(self) -> None:
        assert self._serial is not None
        try:
            chunk = self._serial.read(4096)
        except (serial.SerialException, OSError) as err:
            chunk, self._lost = b"", str(err)
        if not chunk:  # ready but empty: the port is gone
            self._lost = self._lost or f"{self.port} disappeared"
            self._drop()
            return
        self._buffer += chunk
        self._route_realtime()
        self._data.set()

    def _route_realtime(self) -> None:
        """Take each complete real-time reply out of the stream, to its waiting query (a
        late one, whose query gave up, is dropped); the other lines stay, in order."""
        *lines, partial = bytes(self._buffer).split(self.terminator)
        marker = REALTIME_REPLY.encode()
        if not any(line.startswith(marker) for line in lines):
            return
        kept = bytearray()
        for line in lines:
            if not line.startswith(marker):
                kept += line + self.terminator
            elif self._realtime_reply is not None and not self._realtime_reply.done():
                text = line[len(marker) :].decode("ascii", errors="replace").strip()
                self._realtime_reply.set_result(text)
        self._buffer[:] = kept + partial

    # --- requests --------------------------------------------------------------------
    async def send_urgent(self, line: str) -> None:
        """Write a real-time command at once, past the request in flight (it has no reply)."""
        if not self._wanted:
            raise DeviceDisconnected(self.name, "not connected", line)
        if self._serial is None:
            self._open()
        assert self._serial is not None
        try:
            self._serial.write(line.encode() + self.terminator)
        except (serial.SerialException, OSError) as err:
            self._drop()
            raise DeviceDisconnected(self.name, f"write failed: {err}", line) from None

    async def realtime(self, line: str, timeout: float) -> str:
        """Write a real-time query at once, past the request in flight; return its reply."""
        if not self._wanted:
            raise DeviceDisconnected(self.name, "not connected", line)
        async with self._realtime_lock:  # one real-time query in flight
            if self._serial is None:
                self._open()
            assert self._serial is not None
            reply = self._realtime_reply = asyncio.get_running_loop().create_future()
            try:
                self._serial.write(line.encode() + self.terminator)
                async with asyncio.timeout(timeout):
                    return await reply
            except (serial.SerialException, OSError) as err:
                self._drop()
                raise DeviceDisconnected(self.name, f"write failed: {err}", line) from None
            except TimeoutError:
                raise DeviceTimeout(
                    self.name, f"no real-time reply within {timeout:g} s", line
                ) from None
            except DeviceDisconnected as err:
                raise DeviceDisconnected(self.name, err.message, line) from None
            finally:
                self._realtime_reply = None

    async def request(self, line: str, timeout: float, idempotent: bool = False) -> str:
        """Send one line, return the reply line; an ``idempotent`` query is asked again after a
        timeout or a lost port, a command never."""
        if not self._wanted:
            raise DeviceDisconnected(self.name, "not connected", line)
        attempts = 1 + (self.retries if idempotent else 0)
        async with self._lock:
            for attempt in range(1, attempts + 1):
                try:
                    return await self._exchange(line, timeout)
                except (DeviceTimeout, DeviceDisconnected) as err:
                    if attempt < attempts:
                        # back off: a port that just came back, or a busy instrument,
                        # gets a moment before the query is asked again
                        await asyncio.sleep(min(RETRY_BACKOFF_S * 2 ** (attempt - 1), 1.0))
                        continue
                    if idempotent:
                        raise
                    raise type(err)(
                        self.name,
                        f"{err.message}; not retried: the command may have taken effect",
                        line,
                    ) from None
        raise AssertionError("unreachable")

    async def _exchange(self, line: str, timeout: float) -> str:
        if self._serial is None:
            self._open()  # reconnect after the port came back
        assert self._serial is not None
        self._buffer.clear()  # a late reply to an earlier request is not this one's
        try:
            self._serial.write(line.encode() + self.terminator)
        except (serial.SerialException, OSError) as err:
            self._drop()
            raise DeviceDisconnected(self.name, f"write failed: {err}", line) from None
        try:
            async with asyncio.timeout(timeout):
                while self.terminator not in self._buffer:
                    if self._serial is None:
                        raise DeviceDisconnected(self.name, self._lost or "port closed", line)
                    self._data.clear()
                    await self._data.wait()
        except TimeoutError:
            partial = f" (got {bytes(self._buffer)[:40]!r})" if self._buffer else ""
            raise DeviceTimeout(
                self.name, f"no complete reply within {timeout:g} s{partial}", line
            ) from None
        reply, _, rest = bytes(self._buffer).partition(self.terminator)
        self._buffer[:] = rest
        return reply.decode("ascii", errors="replace").strip()
