"""A plate's batch of trials as one bluesky run: each step of the plate protocol for every
trial's well in turn (step by step across the plate, as a liquid handler works), then the
plate read once and each well's spectrum an event of the primary stream of its own, so a
well the reader could not read fails only its trial."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
from bluesky.utils import MsgGenerator

from devices import Capability
from protocols import stubs
from protocols.models import Mix, Pipette, Protocol, ReadPlate, Wait
from protocols.plate_checks import uses_tip
from protocols.resources import StepTimes


def run_plate(
    lab: Any,
    protocols: Sequence[Protocol | dict[str, Any]],
    wells: Sequence[str],
    md: dict[str, Any] | None = None,
) -> MsgGenerator[str]:
    """One run: the trials' wells filled, mixed and read, then the handler's safe state
    (no tip on its channel). A checkpoint precedes each step of the protocol, so a pause
    lands between steps; the ``conditions`` stream records, after each step, the tips and
    reagent left and the step's device and times (the timeline's).

    ``protocols`` may be the models or their JSON dicts (as a queue server would send them).

    Args:
        lab: the connected devices (``protocols.LabDevices``).
        protocols: each trial's concrete plate protocol, all of one template.
        wells: each trial's well, in the same order.
        md: metadata for the run's start document (campaign, trials, ...).
    """
    concrete = [
        p if isinstance(p, Protocol) else Protocol.model_validate(p, context={"filled": True})
        for p in protocols
    ]
    if len(concrete) != len(wells) or not concrete:
        raise ValueError(f"{len(concrete)} protocols for {len(wells)} wells: give one well each")
    handler = _able(lab, Capability.PIPETTES)
    reader = _able(lab, Capability.READS_PLATES)
    plate = reader.plate.name
    metadata = {
        "plan_name": "run_plate",
        "plate": plate,
        "wells": list(wells),
        "protocol": concrete[0].to_json_dict(),
        "protocols": [p.to_json_dict() for p in concrete],
        **(md or {}),
    }

    times = StepTimes(lab.resources.clock)

    def steps() -> MsgGenerator[None]:
        for i, step in enumerate(concrete[0].steps):
            yield from bps.checkpoint()
            times.reach()
            times.begin(reader.name if isinstance(step, ReadPlate) else handler.name)
            if isinstance(step, Wait):
                yield from stubs.wait(lab.timer, step.duration)
            elif isinstance(step, ReadPlate):
                yield from read_wells(reader, step.wavelengths.nanometres(), wells)
            for protocol, well in zip(concrete, wells, strict=True):
                own = protocol.steps[i]
                if not uses_tip(own):
                    continue
                if isinstance(own, Pipette):
                    ul = float(own.volume.m_as("uL"))
                    yield from _execute(handler.pipette, own.reagent, plate, well, ul)
                elif isinstance(own, Mix):
                    ul = float(own.volume.m_as("uL"))
                    yield from _execute(handler.mix, plate, well, ul, own.cycles)
            times.end()
            yield from bps.trigger_and_read([handler, times], name="conditions")

    @bpp.run_decorator(md=metadata)
    def body() -> MsgGenerator[None]:
        yield from bpp.finalize_wrapper(steps(), bps.stop(handler))

    return (yield from body())


def read_wells(
    reader: Any, wavelengths_nm: Sequence[float], wells: Sequence[str]
) -> MsgGenerator[None]:
    """Read the plate once, then each well's spectrum into an event of the primary stream."""
    yield from _execute(
        reader.read_plate, np.asarray(wavelengths_nm, dtype=np.float64), list(wells)
    )
    for well in wells:
        yield from _execute(reader.select, well)
        yield from bps.trigger_and_read([reader])


def _execute(command: Any, *args: Any) -> MsgGenerator[None]:
    """Run an ophyd-async command of a device and wait for it; its error ends the run
    (the RunEngine's ``wait_for`` hands back the finished task, and raises nothing)."""
    (task,) = yield from bps.wait_for([lambda: command.execute(*args)])
    error = task.exception()
    if error is not None:
        raise error


def _able(lab: Any, capability: Capability) -> Any:
    """The lab's device that does ``capability`` (preflight refused a plate protocol in
    a lab without one)."""
    for name, facts in lab.facts.items():
        if capability in facts.capabilities:
            return lab.others[name]
    raise ValueError(f"this lab has no device that {capability}")
