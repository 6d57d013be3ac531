"""What trials running at once share, and the record of who used what when.

Several RunEngines (two per synthesis station) run their plans on one event loop, so an
``asyncio.Lock`` per resource is enough to keep the shared arm to one move at a time and a
place to one vial. A plan waits for a lock through bluesky's ``wait_for`` message, so the
RunEngine stays responsive (pause, abort) while it waits.

Deadlock is ruled out by one order: a step takes the place it puts a vial in *before* the
arm, and no one holding the arm waits for anything else. A station's next trial, started
while the last one's vial is measured, holds nothing while it waits for the station's slot
(see :meth:`protocols.Protocol.frees_its_station`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import bluesky.plan_stubs as bps
from bluesky.protocols import Reading
from bluesky.utils import MsgGenerator
from event_model import DataKey

from devices import Clock


@dataclass
class Resources:
    """Locks on the lab's shared resources (the arm, places that hold one vial), by name.

    Args:
        clock: lab time, for the timeline of each step.
    """

    clock: Clock
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _listeners: list[Callable[[str, Hashable], None]] = field(default_factory=list)

    def lock(self, name: str) -> asyncio.Lock:
        """The lock on ``name`` (made on first use)."""
        return self._locks.setdefault(name, asyncio.Lock())

    def vacated(self, place: str, owner: Hashable) -> None:
        """Tell the listeners that ``owner``'s vial has left ``place``."""
        for listener in list(self._listeners):
            listener(place, owner)

    def listen(self, listener: Callable[[str, Hashable], None]) -> Callable[[], None]:
        """Call ``listener(place, owner)`` (in the event loop's thread) whenever a run's
        vial leaves a place: a campaign learns so that a station's last vial has left it.
        Returns what stops the calls."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def held(self) -> list[str]:
        """The resources locked now (for a display)."""
        return sorted(n for n, lock in self._locks.items() if lock.locked())


class Claims:
    """The resources one run holds: taken in a fixed order, all given back however the run
    ends.

    Args:
        resources: the lab's shared locks.
        owner: who holds them, as listeners are told (a campaign's trial).
    """

    def __init__(self, resources: Resources, owner: Hashable = None) -> None:
        self._resources = resources
        self._owner = owner
        self.held: list[str] = []

    def take(self, names: Iterable[str]) -> MsgGenerator[None]:
        """Wait (without blocking the event loop) until each of ``names`` is this run's."""
        for name in names:
            if name not in self.held:
                yield from bps.wait_for([functools.partial(self._acquire, name)])

    async def _acquire(self, name: str) -> None:
        # noted as held in the same step as it is taken: a run aborted while it waits
        # either never got the lock or gives it back in its cleanup
        await self._resources.lock(name).acquire()
        self.held.append(name)

    def give(self, name: str) -> None:
        """Give ``name`` back, if this run holds it."""
        if name in self.held:
            self.held.remove(name)
            self._resources.lock(name).release()

    def vacate(self, place: str) -> None:
        """This run's vial has left ``place``: give it back, and tell the listeners."""
        self.give(place)
        self._resources.vacated(place, self._owner)

    def if_free(self, name: str, plan: MsgGenerator[None]) -> MsgGenerator[None]:
        """Run ``plan`` holding ``name`` if it can be had at once; else skip it (another run
        holds it, or is about to)."""

        async def take_at_once() -> None:
            taking = asyncio.ensure_future(self._resources.lock(name).acquire())
            try:
                await asyncio.sleep(0)  # a free lock is taken in the task's first step
            finally:  # also when the run is aborted here: nothing is kept unrecorded
                if not taking.done():  # queued behind another run: that run's now
                    taking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await taking
                if not taking.cancelled():
                    self.held.append(name)

        try:
            yield from bps.wait_for([take_at_once])
            if name in self.held:
                yield from plan
        finally:
            self.give(name)

    def give_all(self) -> MsgGenerator[None]:
        """Give back everything; a plan's cleanup (``finalize_wrapper``) runs this."""
        for name in list(self.held):
            self.give(name)
        yield from bps.null()


class StepTimes:
    """A readable that puts each step's device and times (lab clock) into the run's
    ``conditions`` stream: ``reached`` when the plan came to the step, ``preparing`` when
    it had the place the vial goes to and that place's heater (``prepared_by``) began to
    bring it to the trial's start temperature, ``prepared`` when it was there ("",
    ``reached`` and ``reached`` if nothing was prepared), ``began`` when the step had its
    devices, ``ended`` when it was done. From ``reached`` to ``preparing`` and from
    ``prepared`` to ``began`` the step waited (for a place, the arm). The timeline, the time accounting and the
    throughput bench read them back.

    Args:
        clock: lab time.
        name: the prefix of its fields.
    """

    def __init__(self, clock: Clock, name: str = "step") -> None:
        self.name = name
        self.parent = None
        self._clock = clock
        self._times: dict[str, str | float] = {
            "device": "",
            "reached": 0.0,
            "preparing": 0.0,
            "prepared_by": "",
            "prepared": 0.0,
            "began": 0.0,
            "ended": 0.0,
        }

    def reach(self) -> None:
        """The plan has come to a step."""
        now = self._clock.now()
        self._times.update(reached=now, preparing=now, prepared_by="", prepared=now)

    def preparing(self) -> None:
        """The step has its place, and its heater begins to make it ready."""
        self._times["preparing"] = self._clock.now()

    def prepared(self, device: str) -> None:
        """``device`` has made the step's place ready (a block at its start temperature)."""
        self._times.update(prepared_by=device, prepared=self._clock.now())

    def begin(self, device: str) -> None:
        """The step has its devices and begins."""
        self._times.update(device=device, began=self._clock.now())

    def end(self) -> None:
        """The step is done (before it gives its devices back)."""
        self._times["ended"] = self._clock.now()

    def read(self) -> dict[str, Reading[Any]]:
        """The step's device and times."""
        now = time.time()
        return {f"{self.name}_{k}": {"value": v, "timestamp": now} for k, v in self._times.items()}

    def describe(self) -> dict[str, DataKey]:
        """Field types and units for the event descriptor."""
        found: dict[str, DataKey] = {
            f"{self.name}_{key}": {"source": "plan", "dtype": "string", "shape": []}
            for key in ("device", "prepared_by")
        }
        for key in ("reached", "preparing", "prepared", "began", "ended"):
            found[f"{self.name}_{key}"] = {
                "source": "lab clock",
                "dtype": "number",
                "shape": [],
                "units": "s",
            }
        return found
