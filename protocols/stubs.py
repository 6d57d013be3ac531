"""Plan stubs: the small bluesky building blocks a protocol compiles into.

Values are quantities (or their text, e.g. ``"2.5 mL"``) so plans stay JSON-describable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bluesky.plan_stubs as bps
from bluesky.protocols import Movable, Readable
from bluesky.utils import MsgGenerator

from devices import Analyser, RoboticArm, Spectrometer, SynthesisStation, Timer
from devices import DeviceValue as Value
from devices.timer import DURATIONS


def handling(arm: RoboticArm) -> str:
    """The stream that records what ``arm`` carries: one per arm, since a stream reads the
    same devices at every event."""
    return f"handling_{arm.name}"


def transfer(arm: RoboticArm, source: str, destination: str) -> MsgGenerator[str]:
    """Pick the vial at ``source`` and put it down at ``destination``.

    The arm is read into its ``handling_<arm>`` stream once it holds the vial, so the run
    records which vial (sample) it carried.

    Args:
        arm: the arm that carries it.
        source: the location to pick from (a rack hands out a fresh vial).
        destination: the (free) location to put it.

    Returns:
        The id of the vial it carried, as the arm reported it.
    """
    yield from bps.mv(arm, source)
    yield from bps.mv(arm.gripper, "closed")
    reading = yield from bps.trigger_and_read([arm], name=handling(arm))
    yield from bps.mv(arm, destination)
    yield from bps.mv(arm.gripper, "open")
    return str(reading[f"{arm.name}-holding"]["value"]) if reading else ""


def dispense(
    station: SynthesisStation, reagent: str, volume: Value, rate: Value | None = None
) -> MsgGenerator[None]:
    """Dispense into the vial in the station's slot.

    Args:
        station: the synthesis station.
        reagent: which reagent (the pump that holds it dispenses).
        volume: how much, e.g. ``"2.5 mL"``.
        rate: how fast, e.g. ``"10 mL/min"``; None: the pump's own rate.
    """
    pump = station.pump_for(reagent)
    yield from bps.abs_set(pump, volume, rate=rate, wait=True)


def heat(heater: Movable[Any], temperature: Value) -> MsgGenerator[None]:
    """Set a heater and wait until its block has settled there.

    Args:
        heater: the heater (``station.heater``, a heating block's ``heater``).
        temperature: the setpoint, e.g. ``"60 degC"``.
    """
    yield from bps.mv(heater, temperature)


def wait(timer: Timer, duration: Value) -> MsgGenerator[None]:
    """Wait ``duration`` of lab time.

    Args:
        timer: the lab's clock (accelerated in a simulation).
        duration: how long, e.g. ``"90 s"``.
    """
    yield from bps.mv(timer, duration)


def stir(
    station: SynthesisStation, timer: Timer, speed: Value, duration: Value
) -> MsgGenerator[None]:
    """Stir at ``speed`` for ``duration``, then stop the stirrer.

    Args:
        station: the synthesis station.
        timer: the lab's clock.
        speed: e.g. ``"600 rpm"``.
        duration: e.g. ``"60 s"``.
    """
    # the station's own timer stops the stirrer: the vial is stirred exactly ``duration``
    seconds = DURATIONS.check(duration, device=station.name, what="stir")
    yield from bps.mv(station.stirrer.run_time, seconds)
    yield from bps.mv(station.stirrer, speed)
    yield from wait(timer, duration)
    yield from bps.mv(station.stirrer, "0 rpm")
    yield from bps.mv(station.stirrer.run_time, 0.0)


def measure(
    spectrometer: Spectrometer, integration_time: Value, also_read: Sequence[Readable] = ()
) -> MsgGenerator[None]:
    """One event in the primary stream: the spectrum plus the state of ``also_read``.

    Args:
        spectrometer: the spectrometer holding the vial.
        integration_time: e.g. ``"100 ms"``.
        also_read: devices read into the same event (the conditions of the sample).
    """
    yield from bps.mv(spectrometer.integration, integration_time)
    yield from bps.trigger_and_read([spectrometer, *also_read])


def analyse(analyser: Analyser, also_read: Sequence[Readable] = ()) -> MsgGenerator[None]:
    """One event in the primary stream: the analyser's quantities plus ``also_read``.

    Args:
        analyser: the analyser holding the vial.
        also_read: devices read into the same event (the conditions of the sample).
    """
    yield from bps.trigger_and_read([analyser, *also_read])


def discard(arm: RoboticArm, source: str, waste: str) -> MsgGenerator[None]:
    """Carry the vial at ``source`` to the waste.

    Args:
        arm: the arm that carries it.
        source: where the vial is.
        waste: the waste location.
    """
    yield from transfer(arm, source, waste)


def safe_state(station: SynthesisStation) -> MsgGenerator[None]:
    """Stirrer off and heater to ambient; runs however a plan ends.

    Args:
        station: the synthesis station.
    """
    yield from bps.stop(station)
