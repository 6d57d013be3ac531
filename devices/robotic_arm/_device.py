"""A pick-and-place robotic arm as an ophyd-async device."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from ophyd_async.core import StandardReadableFormat as Format

from devices._errors import DeviceFault
from devices._instrument import InstrumentDevice
from devices._movable import ChoiceMove, InstrumentMovable
from devices._signals import instrument_r, instrument_rw
from devices.robotic_arm._driver import ArmDriver


class Gripper(InstrumentMovable[str]):
    """``bps.mv(arm.gripper, "closed")`` picks up the vial under the arm, ``"open"`` puts
    it down; it reads ``closed`` while it holds a vial."""

    shared = True  # every station's runs

    def __init__(self, driver: ArmDriver, name: str = "") -> None:
        async def state() -> str:
            return "closed" if await driver.held() else "open"

        async def grip(value: str) -> None:
            await (driver.grip() if value == "closed" else driver.release())

        with self.add_children_as_readables():
            self.state = instrument_r(str, state, source="HELD?")
        self.setpoint = instrument_rw(str, state, grip, source="GRIP/RELEASE")
        super().__init__(name=name)

    @cached_property
    def movable_logic(self) -> ChoiceMove:
        """``open`` or ``closed``."""
        return ChoiceMove(self.setpoint, self.state, frozenset({"open", "closed"}), "gripper state")


class RoboticArm(InstrumentDevice, InstrumentMovable[str]):
    """Moves between named locations (``bps.mv(arm, "holder")``); refuses any location it
    was not configured to reach.

    Args:
        driver: the codec of the arm's protocol.
        reachable: the locations the lab file lets it go to; checked against the arm's own
            list at connect.
    """

    driver: ArmDriver
    shared = True  # every station's runs

    def __init__(self, driver: ArmDriver, reachable: Iterable[str], name: str = "") -> None:
        self.reachable = frozenset(reachable)
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.location = instrument_r(str, driver.position, source="POS?")
        with self.add_children_as_readables():
            self.holding = instrument_r(str, self._held, source="HELD?")
        self.setpoint = instrument_rw(str, driver.position, driver.move, source="MOVE")
        self.gripper = Gripper(driver)
        self._driver = driver
        super().__init__(driver, name=name)

    @cached_property
    def movable_logic(self) -> ChoiceMove:
        """One of the locations it may reach; done on arrival."""
        return ChoiceMove(self.setpoint, self.location, self.reachable, "location", "reachable")

    async def check_instrument(self) -> None:
        """Every location the lab file names is one the arm knows."""
        known = set(await self.driver.locations())
        missing = self.reachable - known
        if missing:
            raise DeviceFault(
                self.name, f"configured locations unknown to the arm: {sorted(missing)}"
            )

    async def _held(self) -> str:
        return await self._driver.held() or ""
