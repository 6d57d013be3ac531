"""A pick-and-place robotic arm as an ophyd-async device."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from bluesky.protocols import Movable
from ophyd_async.core import AsyncStatus, StandardReadable
from ophyd_async.core import StandardReadableFormat as Format

from devices._errors import DeviceFault, LimitViolation
from devices._instrument import InstrumentDevice, read_afresh, read_back
from devices.robotic_arm._driver import ArmDriver


class Gripper(StandardReadable, Movable[str]):
    """``bps.mv(arm.gripper, "closed")`` picks up the vial under the arm."""

    def __init__(
        self, driver: ArmDriver, refresh: Callable[[], Awaitable[None]], name: str = ""
    ) -> None:
        self._driver = driver
        self._refresh = refresh
        super().__init__(name=name)

    @AsyncStatus.wrap
    async def set(self, value: str) -> None:
        """``open`` or ``closed``; the arm's readings are refreshed after."""
        if value not in ("open", "closed"):
            raise LimitViolation(
                self.name, f"gripper state must be 'open' or 'closed', not {value!r}"
            )
        try:
            await (self._driver.grip() if value == "closed" else self._driver.release())
        finally:
            await self._refresh()


class RoboticArm(InstrumentDevice, Movable[str]):
    """Moves between named locations; refuses any location it was not configured to reach.

    Args:
        driver: the codec of the arm's protocol.
        reachable: the locations the lab file lets it go to; checked against the arm's own
            list at connect.
    """

    def __init__(self, driver: ArmDriver, reachable: Iterable[str], name: str = "") -> None:
        self.driver = driver
        self.reachable = frozenset(reachable)
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.location = read_back(str, driver.position)
        with self.add_children_as_readables():
            self.holding = read_back(str, self._held)
        self.gripper = Gripper(driver, self.refresh)
        super().__init__(name=name)

    async def _on_connect(self) -> None:
        known = set(await self.driver.locations())
        missing = self.reachable - known
        if missing:
            raise DeviceFault(
                self.name, f"configured locations unknown to the arm: {sorted(missing)}"
            )
        await self.refresh()

    async def _held(self) -> str:
        return await self.driver.held() or ""

    async def refresh(self) -> None:
        """Read the location and the vial held afresh."""
        await read_afresh(self.location, self.holding)

    @AsyncStatus.wrap
    async def set(self, value: str) -> None:
        """Move to a location; refused for one not configured."""
        if value not in self.reachable:
            raise LimitViolation(
                self.name, f"location {value!r} is not reachable; known: {sorted(self.reachable)}"
            )
        try:
            await self.driver.move(value)
        finally:
            await self.refresh()
