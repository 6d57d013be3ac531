"""The lab's side of a PyLabRobot machine (a liquid handler, a plate reader): PyLabRobot
is the transport and codec, its backend the wire (a Hamilton STAR on USB, an Opentrons on
HTTP, or a simulator in this process); what it lacks of the lab's instrument questions
(identity, state, a stop) is answered here, once for every machine."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from devices._errors import DeviceDisconnected, DeviceError, DeviceFault, DeviceRefused

R = TypeVar("R")


def labware_factory(kind: str) -> Callable[[str], Any]:
    """PyLabRobot's definition of a piece of labware by its name (``cor_96_wellplate_360uL_Fb``,
    ``hamilton_96_tiprack_300uL``); ``ValueError`` naming the closest known names."""
    import pylabrobot.resources as resources

    factory = getattr(resources, kind, None) if not kind.startswith("_") else None
    if not callable(factory) or isinstance(factory, type):
        known = [n for n in dir(resources) if not n.startswith("_") and n[0].islower()]
        near = difflib.get_close_matches(kind, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise ValueError(f"PyLabRobot has no labware {kind!r}{hint}")
    return factory


def well_name(resource: Any) -> str:
    """``A1`` for a well of a plate or reservoir (PyLabRobot names it ``plate_well_A1``)."""
    parent = resource.parent
    return str(parent.get_child_identifier(resource)) if parent is not None else resource.name


class PlrDriver:
    """A PyLabRobot machine as the lab's instrument driver: ``connect`` sets it up,
    ``emergency_stop`` stops its backend at once (PyLabRobot has no stop command: a
    stopped backend refuses every operation until ``reset`` sets it up again, homing it)
    and every operation is bounded in time and turned into the lab's device errors.

    Args:
        machine: the PyLabRobot front end (``LiquidHandler``, ``PlateReader``).
        name: the device's name.
        timeout: real seconds one operation may take before it is a fault.
    """

    def __init__(self, machine: Any, name: str, timeout: float) -> None:
        self.machine = machine
        self.name = name
        self.timeout = timeout
        self._estop = False
        self._in_flight = 0

    @property
    def busy(self) -> bool:
        """An operation is in flight."""
        return self._in_flight > 0

    @property
    def stopped(self) -> bool:
        """The emergency stop is latched: every operation is refused."""
        return self._estop

    @property
    def link(self) -> str:
        """The backend PyLabRobot drives."""
        return f"PyLabRobot {type(self.machine.backend).__name__}"

    async def connect(self) -> None:
        """Set the machine up (PyLabRobot homes a liquid handler here)."""
        await self.call("setup", self.machine.setup)

    async def close(self) -> None:
        """Stop the machine's backend (closing its connection)."""
        if self.machine.setup_finished:
            await self.machine.stop()

    async def identify(self) -> str:
        """``PyLabRobot,<backend>,unknown,pylabrobot <version>``: PyLabRobot names the
        backend it drives, not the instrument's serial number or firmware."""
        from pylabrobot import __version__

        backend = type(self.machine.backend).__name__
        return f"PyLabRobot,{backend},unknown,pylabrobot {__version__}"

    async def state(self) -> str:
        """``estop`` while stopped, ``busy`` during an operation, else ``idle``."""
        if self._estop:
            return "estop"
        return "busy" if self.busy else "idle"

    async def emergency_stop(self) -> None:
        """Refuse every further operation and stop the backend."""
        self._estop = True
        await self.close()

    async def reset(self) -> None:
        """Set the machine up again after an emergency stop."""
        self._estop = False
        await self.connect()

    async def call(self, what: str, operation: Callable[[], Awaitable[R]]) -> R:
        """One PyLabRobot operation, refused during an emergency stop, bounded by the
        timeout, with PyLabRobot's errors as the lab's (naming ``what``)."""
        if self._estop:
            raise DeviceRefused(self.name, "the emergency stop is latched; reset it first", what)
        self._in_flight += 1
        try:
            return await asyncio.wait_for(operation(), self.timeout)
        except TimeoutError:
            raise DeviceDisconnected(
                self.name, f"no answer within {self.timeout:g} s from {self.link}", what
            ) from None
        except DeviceError:
            raise
        except Exception as err:  # PyLabRobot's errors have no common root
            raise DeviceFault(self.name, f"{type(err).__name__}: {err}", what) from err
        finally:
            self._in_flight -= 1
