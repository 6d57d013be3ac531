"""A sample changer on an EPICS motor record: a linear stage with a gripper and a barcode
reader, driven through ophyd-async's own ``Motor``. It answers what a ``RoboticArm``
asks of any instrument (``ArmDriver``), so it carries vials between the places along its
axis exactly as an arm does: the same transfers, ledger and recovery."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ophyd_async.core import NotConnectedError
from ophyd_async.epics.core import epics_signal_r, epics_signal_rw
from ophyd_async.epics.motor import Motor

from devices._errors import DeviceError, DeviceFault
from devices._instrument import unanswered
from devices.epics._driver import EpicsDriver

T = TypeVar("T")

#: how far (in the stage's unit) from a place the stage still counts as at it
AT_PLACE = 0.05


class EpicsStageDriver:
    """The stage's PVs: the motor record ``<prefix>STAGE``, ``GRIP`` (1 closed),
    ``BARCODE`` (the held vial's id, empty if none), ``ID`` and ``ESTOP``.

    Args:
        name: the device's name, for errors.
        prefix: the PV prefix with its protocol (``pva://LAB:SC1:``).
        positions: place -> position along the axis (the motor's unit, mm).
        taught: place -> its coordinates in the lab (mm), where the stage reports itself
            when at the place (its deviation along the axis added to x).
        timeout: how long (real seconds) a PV may take to answer.
        move_timeout: how long (real seconds) one move may take.
    """

    def __init__(
        self,
        name: str,
        prefix: str,
        positions: dict[str, float],
        taught: dict[str, tuple[float, float, float]],
        timeout: float,
        move_timeout: float,
    ) -> None:
        self.name = name
        self.positions = positions
        self.taught = taught
        self.move_timeout = move_timeout
        self.motor = Motor(prefix + "STAGE", name=f"{name}-stage")
        self._gripper = epics_signal_rw(bool, prefix + "GRIP", name=f"{name}-grip")
        self._barcode = epics_signal_r(str, prefix + "BARCODE", name=f"{name}-barcode")
        identity = epics_signal_r(str, prefix + "ID", name=f"{name}-id")
        estop = epics_signal_rw(bool, prefix + "ESTOP", name=f"{name}-estop")
        protocol, _, bare = prefix.partition("://")
        self._control = EpicsDriver(
            name, f"EPICS {protocol.upper()} {bare}* (motor record)", timeout
        )
        self._control.attach(identity, estop, [self.motor.user_readback])
        self._signals = (self._gripper, self._barcode, identity, estop)

    @property
    def busy(self) -> bool:
        """Never: PVs answer concurrently."""
        return False

    @property
    def link(self) -> str:
        """EPICS, the protocol and the prefix."""
        return self._control.link

    async def connect(self) -> None:
        """Connect the motor record and the other PVs."""
        timeout = self._control.timeout
        try:
            await self.motor.connect(timeout=timeout)
            for signal in self._signals:
                await signal.connect(timeout=timeout)
        except NotConnectedError as err:
            raise unanswered(self.name, self.link, err) from None

    async def close(self) -> None:
        """Nothing to release."""

    async def identify(self) -> str:
        """The ``ID`` PV."""
        return await self._control.identify()

    async def state(self) -> str:
        """``estop``, an alarm of the readback, or ``idle``."""
        return await self._control.state()

    async def emergency_stop(self) -> None:
        """Latch ``ESTOP`` (the stage stops where it is) and read it back."""
        await self._control.emergency_stop()

    async def reset(self) -> None:
        """Clear ``ESTOP``."""
        await self._control.reset()

    async def locations(self) -> list[str]:
        """The places the lab file positions along the axis."""
        return list(self.positions)

    async def move(self, location: str) -> None:
        """Move the motor record to the place (put-completion ends on arrival)."""
        target = self.positions[location]
        await self._do(
            f"MOVE {location}", lambda: self.motor.set(target, timeout=self.move_timeout)
        )

    async def position(self) -> str:
        """The place the readback is at, or the position between places."""
        at = await self._do("POS?", lambda: self.motor.user_readback.get_value(cached=False))
        place = next((p for p, mm in self.positions.items() if abs(mm - at) <= AT_PLACE), None)
        return place or f"{at:.3f}"

    async def grip(self) -> None:
        """Close on the vial at this place."""
        await self._do("GRIP", lambda: self._gripper.set(True, timeout=self._control.timeout))

    async def release(self) -> None:
        """Set the held vial down here."""
        await self._do("RELEASE", lambda: self._gripper.set(False, timeout=self._control.timeout))

    async def held(self) -> str | None:
        """The held vial's barcode, or None."""
        code = await self._do("HELD?", lambda: self._barcode.get_value(cached=False))
        return code or None

    async def xyz(self) -> tuple[float, float, float]:
        """Where the carriage is in the lab: the nearest place's coordinates, its
        deviation from that place's position along the axis added to x."""
        at = await self._do("XYZ?", lambda: self.motor.user_readback.get_value(cached=False))
        place = min(self.positions, key=lambda p: abs(self.positions[p] - at))
        x, y, z = self.taught[place]
        return (x + at - self.positions[place], y, z)

    async def cycle_gripper(self) -> None:
        """A stage's gripper is checked by its transfers; nothing to cycle."""

    async def _do(self, command: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call``, with the control system's refusals as :class:`DeviceFault` and a PV
        that does not answer as ``DeviceDisconnected`` (both naming ``command``)."""
        try:
            return await call()
        except DeviceError:
            raise
        except (TimeoutError, NotConnectedError) as err:
            raise DeviceFault(
                self.name, f"{self.link} did not answer in time ({err or 'timed out'})", command
            ) from None
        except Exception as err:  # the IOC's refusal (a put error), a limit of the record
            raise DeviceFault(self.name, str(err).strip() or type(err).__name__, command) from None
