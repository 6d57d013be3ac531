"""Codec of the arm's ASCII command set (docs/protocols/README.md)."""

from __future__ import annotations

from typing import Protocol

from devices._errors import ProtocolError
from devices._instrument import InstrumentDriver
from devices._line_protocol import AsciiDriver
from devices._transport import Transport


class ArmDriver(InstrumentDriver, Protocol):
    """What a :class:`RoboticArm` needs from an instrument, whatever the wire."""

    async def locations(self) -> list[str]:
        """Every location the arm knows."""

    async def move(self, location: str) -> None:
        """Travel to a named location; returns on arrival."""

    async def position(self) -> str:
        """The location the arm is at."""

    async def grip(self) -> None:
        """Pick up the vial here."""

    async def release(self) -> None:
        """Put the held vial down here."""

    async def held(self) -> str | None:
        """The vial in the gripper, or None."""

    async def xyz(self) -> tuple[float, float, float]:
        """Where the tool is (mm), from the joint encoders."""

    async def cycle_gripper(self) -> None:
        """Close and open the empty gripper."""


class AsciiArmDriver(AsciiDriver):
    """The arm's ASCII protocol: ``move_timeout`` bounds a move, grip or release, ``timeout`` every other command."""

    def __init__(
        self, transport: Transport, device: str, move_timeout: float = 120.0, timeout: float = 5.0
    ) -> None:
        super().__init__(transport, device, timeout)
        self._move_timeout = move_timeout

    async def locations(self) -> list[str]:
        """``LOCS?``."""
        return [s for s in (await self._io.call("LOCS?")).split(",") if s]

    async def move(self, location: str) -> None:
        """``MOVE <location>``; returns on arrival."""
        await self._io.call(f"MOVE {location}", timeout=self._move_timeout)

    async def position(self) -> str:
        """``POS?``."""
        return await self._io.call("POS?")

    async def grip(self) -> None:
        """``GRIP``."""
        await self._io.call("GRIP", timeout=self._move_timeout)

    async def release(self) -> None:
        """``RELEASE``."""
        await self._io.call("RELEASE", timeout=self._move_timeout)

    async def held(self) -> str | None:
        """``HELD?``: the vial held, or None."""
        reply = await self._io.call("HELD?")
        return None if reply == "NONE" else reply

    async def xyz(self) -> tuple[float, float, float]:
        """Where the tool is (mm), from the joint encoders: the taught point plus error."""
        reply = await self._io.call("XYZ?")
        try:
            x, y, z = (float(c) for c in reply.split(","))
        except ValueError:
            raise ProtocolError(self._device, f"bad position {reply!r}", "XYZ?") from None
        return x, y, z

    async def cycle_gripper(self) -> None:
        """Close and open the empty gripper (a service check; refused while it holds)."""
        await self._io.call("CYCLE", timeout=self._move_timeout)
