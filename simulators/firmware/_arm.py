"""A simulated pick-and-place arm with named locations and travel times."""

from __future__ import annotations

from simulators.clock import SimClock
from simulators.firmware._base import FirmwareError, LineFirmware
from simulators.workcell import Vial, Workcell


class ArmFirmware(LineFirmware):
    """Commands: ``HOME``, ``MOVE <location>``, ``GRIP``, ``RELEASE``, ``POS?``, ``HELD?``,
    ``LOCS?``, and the common ``STATE?``, ``RESET``, ``ESTOP``. Moves reply once the arm has
    arrived (travel time at ``speed_mm_s``); an emergency stop halts the arm where it is,
    still holding what it holds."""

    identity = "SDL-Sim RoboArm 1.0"

    def __init__(
        self,
        clock: SimClock,
        workcell: Workcell,
        home: str,
        speed_mm_s: float = 250.0,
        grip_s: float = 1.5,
    ) -> None:
        super().__init__(clock)
        self.workcell = workcell
        self.home = home
        self.position = home
        self.held: Vial | None = None
        self.speed_mm_s = speed_mm_s
        self.grip_s = grip_s
        self.commands.update(
            {
                "HOME": self._home,
                "MOVE": self._move,
                "GRIP": self._grip,
                "RELEASE": self._release,
                "POS?": self._pos,
                "HELD?": self._held,
                "LOCS?": self._locs,
            }
        )

    async def _travel(self, target: str) -> None:
        if target not in self.workcell.locations:
            raise FirmwareError(f"unknown location {target}")
        await self.busy_for(self.workcell.distance_mm(self.position, target) / self.speed_mm_s)
        self.position = target

    async def _home(self) -> None:
        await self._travel(self.home)

    async def _move(self, target: str) -> None:
        await self._travel(target)

    async def _grip(self) -> None:
        if self.held is not None:
            raise FirmwareError(f"gripper already holds {self.held.id}")
        await self.busy_for(self.grip_s)
        vial = self.workcell.take(self.position)
        if vial is None:
            raise FirmwareError(f"no vial at {self.position}")
        self.held = vial

    async def _release(self) -> None:
        if self.held is None:
            raise FirmwareError("gripper is empty")
        await self.busy_for(self.grip_s)
        if not self.workcell.put(self.position, self.held):
            raise FirmwareError(f"{self.position} is occupied")
        self.held = None

    async def _pos(self) -> str:
        return self.position

    async def _held(self) -> str:
        return self.held.id if self.held else "NONE"

    async def _locs(self) -> str:
        return ",".join(self.workcell.locations)
