"""Movable parts of instruments, as ophyd-async means them: a writable setpoint signal, a
readback signal, and the logic of a move (limits, settling, stopping) kept apart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from ophyd_async.core import (
    CALCULATE_TIMEOUT,
    CalculatableTimeout,
    MovableLogic,
    StandardMovable,
    StandardReadable,
    TimeoutCalculator,
    WatchableAsyncStatus,
    wait_for_value,
)

from devices._errors import DeviceFault, LimitViolation
from devices._quantity import DeviceValue, Range, magnitude

T = TypeVar("T", float, str)


@dataclass
class RangeMove(MovableLogic[float]):
    """A move to a number within ``limits`` (a bare number means ``limits.unit``),
    done once the readback is within ``tolerance`` of it.

    Args:
        limits: where the part may be set; checked before anything is sent.
        what: what is set, in words (``temperature``), for errors.
        tolerance: how close the readback must come; None: done once the setpoint is
            written (the instrument reads back what it was told at once).
        patience: a wait that ends when settling has taken too long (on the lab's
            clock, so a simulation's accelerated time counts); None for no limit.
        why_slow: what the error of a move that did not settle in time says after
            "did not reach <value>".
        allowed: values always allowed, whatever the limits (a stirrer's 0, off).
    """

    limits: Range = field(default_factory=lambda: Range(float("-inf"), float("inf"), ""))
    what: str = "value"
    tolerance: float | None = None
    patience: Callable[[], Awaitable[None]] | None = None
    why_slow: Callable[[], str] = lambda: ""
    allowed: frozenset[float] = frozenset()

    def convert(self, value: DeviceValue) -> float:
        """The value as a number of ``limits.unit`` (a string or quantity is converted)."""
        return magnitude(value, self.limits.unit, device=self.readback.name, what=self.what)

    def refuse(self, new_position: float) -> None:
        """Raise :class:`LimitViolation` for a value outside the limits."""
        if new_position not in self.allowed:
            self.limits.check(new_position, device=self.readback.name, what=self.what)

    async def check_move(self, new_position: float) -> None:
        """Refuse a value outside the limits before anything is sent."""
        self.refuse(new_position)

    async def move(self, new_position: float, timeout: TimeoutCalculator) -> None:
        """Write the setpoint; with a tolerance, wait until the readback comes within it."""
        await self.setpoint.set(new_position)
        tolerance = self.tolerance
        if tolerance is None:
            return
        settled = wait_for_value(
            self.readback, lambda now: abs(now - new_position) <= tolerance, timeout()
        )
        if self.patience is None:
            await settled
            return
        if await first_of(settled, self.patience()):
            return
        # patience is lab time, the readback polled in real time: read it once more
        if abs(await self.readback.get_value(cached=False) - new_position) > tolerance:
            raise DeviceFault(
                self.readback.name,
                f"did not reach {new_position:g} {self.limits.unit} {self.why_slow()}",
            )


@dataclass
class ChoiceMove(MovableLogic[str]):
    """A move to one of ``choices`` (places, states), done when the instrument reports
    arriving there.

    Args:
        choices: the values it may be set to; checked before anything is sent.
        what: what is set, in words (``location``), for errors.
        refusal: what a value not among the choices is not (``reachable``).
    """

    choices: frozenset[str] = frozenset()
    what: str = "value"
    refusal: str = "allowed"

    def convert(self, value: str) -> str:
        """The value as given: a choice is a word."""
        return value

    async def check_move(self, new_position: str) -> None:
        """Refuse a value that is not a choice before anything is sent."""
        self.refuse(new_position)

    def refuse(self, new_position: str) -> None:
        """Raise :class:`LimitViolation` for a value that is not a choice."""
        if new_position not in self.choices:
            raise LimitViolation(
                self.readback.name,
                f"{self.what} {new_position!r} is not {self.refusal}; known: "
                f"{sorted(self.choices)}",
            )

    async def move(self, new_position: str, timeout: TimeoutCalculator) -> None:
        """Write the setpoint (the instrument answers on arrival), then read back."""
        await self.setpoint.set(new_position, timeout=timeout())
        await wait_for_value(self.readback, new_position, timeout())


async def first_of(wanted: Awaitable[Any], other: Awaitable[Any]) -> bool:
    """Await whichever ends first; True if it was ``wanted`` (its error, if any, is
    raised). The other is cancelled."""
    tasks = [asyncio.ensure_future(wanted), asyncio.ensure_future(other)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if tasks[0] in done:
        tasks[0].result()
        return True
    return False


class InstrumentMovable(StandardReadable, StandardMovable[T], Generic[T]):
    """A movable part: ``bps.mv(part, value)`` sets it, ``bps.rd(part)`` reads its
    readback, ``bps.rd(part.setpoint)`` what it was told. A string or quantity is
    converted to the unit the part declares; a bare number is in that unit."""

    movable_logic: Any  # a cached property of each part (see StandardMovable)
    #: the runs of several stations take turns with it (the arm, a heating block), each
    #: from its own RunEngine on one event loop: see :meth:`stop`
    shared: ClassVar[bool] = False

    def set(
        self,
        new_position: Any,
        timeout: CalculatableTimeout = CALCULATE_TIMEOUT,  # type: ignore[assignment]
    ) -> WatchableAsyncStatus[T]:
        """Move to ``new_position`` (converted to the part's unit first); a value beyond
        the part's limits is refused here, before a byte is sent."""
        value = self.movable_logic.convert(new_position)
        self.movable_logic.refuse(value)
        return super().set(value, timeout)

    async def stop(self, success: bool = False) -> None:
        """Abandon a move in progress, which then fails (``bps.stop``, the emergency
        stop's end of waits); the instrument itself is halted by its emergency stop.

        A RunEngine also stops every part its run set, with ``success=True``, when the run
        ends and on a pause. Our plans wait for each move, so nothing is moving for that
        run then; but a ``shared`` part may be moving for another run, which waits on it:
        that move is left to finish (cutting it once reported a move of the arm done
        where it had not gone, and the vial was put down in the wrong place).
        """
        if not (success and self.shared):
            await super().stop(success=success)
