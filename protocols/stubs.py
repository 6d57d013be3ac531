"""Plan stubs: the small bluesky building blocks a protocol compiles into.

Values are quantities (or their text, e.g. ``"2.5 mL"``) so plans stay JSON-describable.
"""

from __future__ import annotations

from collections.abc import Sequence

import bluesky.plan_stubs as bps
from bluesky.protocols import Readable
from bluesky.utils import MsgGenerator

from devices import Analyser, RoboticArm, Spectrometer, SynthesisStation, Timer
from devices import DeviceValue as Value


def transfer(arm: RoboticArm, source: str, destination: str) -> MsgGenerator[None]:
    """Pick the vial at ``source`` and put it down at ``destination``.

    The arm is read into the ``handling`` stream once it holds the vial, so the run
    records which vial (sample) it carried.
    """
    yield from bps.mv(arm, source)
    yield from bps.mv(arm.gripper, "closed")
    yield from bps.trigger_and_read([arm], name="handling")
    yield from bps.mv(arm, destination)
    yield from bps.mv(arm.gripper, "open")


def dispense(
    station: SynthesisStation, reagent: str, volume: Value, rate: Value | None = None
) -> MsgGenerator[None]:
    """Dispense ``volume`` of ``reagent`` into the vial in the station's slot."""
    pump = station.pump_for(reagent)
    yield from bps.abs_set(pump, volume, rate=rate, wait=True)


def heat(station: SynthesisStation, temperature: Value) -> MsgGenerator[None]:
    """Set the heater and wait until the block has settled there."""
    yield from bps.mv(station.heater, temperature)


def wait(timer: Timer, duration: Value) -> MsgGenerator[None]:
    """Wait ``duration`` of lab time."""
    yield from bps.mv(timer, duration)


def stir(
    station: SynthesisStation, timer: Timer, speed: Value, duration: Value
) -> MsgGenerator[None]:
    """Stir at ``speed`` for ``duration``, then stop the stirrer."""
    yield from bps.mv(station.stirrer, speed)
    yield from wait(timer, duration)
    yield from bps.mv(station.stirrer, "0 rpm")


def measure(
    spectrometer: Spectrometer, integration_time: Value, also_read: Sequence[Readable] = ()
) -> MsgGenerator[None]:
    """One event in the primary stream: the spectrum plus the state of ``also_read``."""
    yield from bps.mv(spectrometer.integration, integration_time)
    yield from bps.trigger_and_read([spectrometer, *also_read])


def analyse(analyser: Analyser, also_read: Sequence[Readable] = ()) -> MsgGenerator[None]:
    """One event in the primary stream: the analyser's quantities plus ``also_read``."""
    yield from bps.trigger_and_read([analyser, *also_read])


def discard(arm: RoboticArm, source: str, waste: str) -> MsgGenerator[None]:
    """Carry the vial at ``source`` to the waste."""
    yield from transfer(arm, source, waste)


def safe_state(station: SynthesisStation) -> MsgGenerator[None]:
    """Stirrer off and heater to ambient; runs however a plan ends."""
    yield from bps.stop(station)
