"""A simulated pick-and-place arm with named locations and travel times."""

from __future__ import annotations

import numpy as np

from simulators.clock import SimClock
from simulators.firmware._base import FirmwareError, LineFirmware
from simulators.workcell import Vial, Workcell


class ArmFirmware(LineFirmware):
    """Commands: ``HOME``, ``MOVE <location>``, ``GRIP``, ``RELEASE``, ``POS?``, ``HELD?``,
    ``LOCS?``, ``XYZ?`` (where the tool truly is, mm, from the joint encoders), ``CYCLE``
    (close and open the empty gripper), and the common ``STATE?``, ``RESET``, ``ESTOP``.
    Moves reply once the arm has arrived (travel time at ``speed_mm_s``), within
    ``repeatability_mm`` (one standard deviation per axis) of the taught point; an
    emergency stop halts the arm where it is, still holding what it holds."""

    model, serial_number = "RoboArm", "SN1001"

    def __init__(
        self,
        clock: SimClock,
        workcell: Workcell,
        home: str,
        speed_mm_s: float = 250.0,
        grip_s: float = 1.5,
        repeatability_mm: float = 0.01,
        seed: int = 0,
    ) -> None:
        super().__init__(clock)
        self.workcell = workcell
        self.home = home
        self.position = home
        self.held: Vial | None = None
        self.speed_mm_s = speed_mm_s
        self.grip_s = grip_s
        self.repeatability_mm = repeatability_mm
        #: degradation: a constant error of every move (a knocked arm, a slipped joint), mm
        self.offset_mm = np.zeros(3)
        self._rng = np.random.default_rng(seed)
        self._xyz = self._arrive_at(home)
        self.commands.update(
            {
                "HOME": self._home,
                "MOVE": self._move,
                "GRIP": self._grip,
                "RELEASE": self._release,
                "POS?": self._pos,
                "HELD?": self._held,
                "LOCS?": self._locs,
                "XYZ?": self._where,
                "CYCLE": self._cycle,
            }
        )

    async def _travel(self, target: str) -> None:
        if target not in self.workcell.locations:
            raise FirmwareError(f"unknown location {target}")
        await self.busy_for(self.workcell.distance_mm(self.position, target) / self.speed_mm_s)
        self.position = target
        self._xyz = self._arrive_at(target)

    def _arrive_at(self, location: str) -> np.ndarray:
        taught = np.asarray(self.workcell.locations[location].xyz_mm, dtype=float)
        return taught + self.offset_mm + self._rng.normal(0.0, self.repeatability_mm, 3)

    async def _where(self) -> str:
        return ",".join(f"{c:.4f}" for c in self._xyz)

    async def _cycle(self) -> None:
        if self.held is not None:
            raise FirmwareError(f"gripper holds {self.held.id}: cycle it empty")
        await self.busy_for(2 * self.grip_s)

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
