"""Protocols compiled into bluesky plans, callable by name with JSON-able parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import MsgGenerator

from devices import RoboticArm, Spectrometer, SynthesisStation, Timer
from protocols import stubs
from protocols.models import Discard, Dispense, Heat, Measure, Protocol, Stir, Transfer, Wait


@dataclass(frozen=True)
class LabDevices:
    """The devices a protocol runs on, and the roles of the lab's places."""

    arm: RoboticArm
    station: SynthesisStation
    spectrometer: Spectrometer
    timer: Timer
    waste: str


def _step_plan(step: Any, lab: LabDevices) -> MsgGenerator[None]:
    match step:
        case Transfer():
            return stubs.transfer(lab.arm, step.source, step.destination)
        case Dispense():
            return stubs.dispense(lab.station, step.reagent, step.volume, step.rate)
        case Heat():
            return stubs.heat(lab.station, step.temperature)
        case Stir():
            return stubs.stir(lab.station, lab.timer, step.speed, step.duration)
        case Wait():
            return stubs.wait(lab.timer, step.duration)
        case Measure():
            return stubs.measure(
                lab.spectrometer, step.integration_time, [lab.station.heater, lab.arm]
            )
        case Discard():
            return stubs.discard(lab.arm, step.source, lab.waste)
    raise TypeError(f"no plan stub for step {step!r}")


def run_protocol(
    lab: LabDevices, protocol: Protocol | dict[str, Any], md: dict[str, Any] | None = None
) -> MsgGenerator[str]:
    """One run: every step of a concrete protocol, then the station's safe state.

    A checkpoint precedes each step, so a deferred pause (the only kind the lab asks for)
    waits for the step in progress to finish.

    ``protocol`` may be the model or its JSON dict (as a queue server would send it).
    """
    if not isinstance(protocol, Protocol):
        protocol = Protocol.model_validate(protocol, context={"filled": True})
    metadata = {"protocol": protocol.to_json_dict(), "plan_name": "run_protocol", **(md or {})}

    @bpp.run_decorator(md=metadata)
    def body() -> MsgGenerator[None]:
        for step in protocol.steps:
            # a pause lands here, between steps, never inside one (a dispense is not redone)
            yield from bps.checkpoint()
            yield from _step_plan(step, lab)

    return (yield from bpp.finalize_wrapper(body(), stubs.safe_state(lab.station)))


PLANS: dict[str, Callable[..., MsgGenerator[Any]]] = {"run_protocol": run_protocol}
