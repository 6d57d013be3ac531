"""The sample ledger's view of a run: which vial a trial used and what the instruments
confirmed went into it. Read from the run's documents (the store's truth), never from
what the protocol asked for: a dispense that failed adds nothing, and one cut short (an
emergency stop in the middle of it) adds what its pump delivered until then."""

from __future__ import annotations

from typing import Any

import pint

from devices import format_quantity
from lab.records.timeline import Documents, after_each_step, cut_short
from protocols import Dispense, Protocol

ureg = pint.get_application_registry()


def vials_handled(documents: Documents, arms: str | list[str]) -> list[str]:
    """The vials the arms carried in a run, in order (each arm's ``handling_<arm>`` stream).

    Args:
        documents: the run's documents, as ``(name, doc)`` pairs.
        arms: the arms' device names.
    """
    keys = [f"{a}-holding" for a in ([arms] if isinstance(arms, str) else arms)]
    held = [d["data"].get(k) for n, d in documents if n == "event" for k in keys]
    return list(dict.fromkeys(h for h in held if h))


def confirmed_composition(
    documents: Documents, protocol: Protocol, station: str, pumps: dict[int, str]
) -> dict[str, pint.Quantity]:
    """Reagent -> volume for each dispense step the station confirmed: the fall of that
    reagent's reservoir level across the step, read after each step in the run's
    ``conditions`` stream (one event per finished step), and across a dispense cut short
    up to the reading in its ``cut_short`` stream.

    Args:
        documents: the run's documents, as ``(name, doc)`` pairs.
        protocol: the concrete protocol the run ran.
        station: the station's device name.
        pumps: pump number -> the reagent it pumps.
    """
    readings = after_each_step(documents)
    finished = len(readings)
    cut = cut_short(documents)
    if cut is not None:
        readings.append(cut)
    pump_of = {reagent: number for number, reagent in pumps.items()}
    composition: dict[str, pint.Quantity] = {}
    for i, step in enumerate(protocol.steps[: len(readings)]):
        if not isinstance(step, Dispense) or i == 0:
            continue  # a protocol starts by bringing a vial, never with a dispense
        key = f"{station}-pumps-{pump_of[step.reagent]}-level"
        fallen = round(readings[i - 1][key] - readings[i][key], 6)
        if i == finished and fallen <= 0:
            continue  # cut short before its pump delivered anything
        volume = ureg.Quantity(fallen, "mL")
        composition[step.reagent] = composition.get(step.reagent, 0 * volume) + volume
    return composition


#: the streams of every run (the protocol's own steps and the vial's handling): any other
#: stream is a step of an installed package measuring the vial
_LAB_STREAMS = ("primary", "conditions", "cut_short")


def measured_by_steps(documents: Documents) -> list[dict[str, Any]]:
    """What the steps of installed packages measured of the vial (a weighing), in order:
    each scalar reading with its unit, and the step it was taken in (the steps finished
    before it, counted by the run's ``conditions`` stream).

    Args:
        documents: the run's documents, as ``(name, doc)`` pairs.
    """
    descriptors = {d["uid"]: d for n, d in documents if n == "descriptor"}
    found: list[dict[str, Any]] = []
    step = 0
    for name, doc in documents:
        if name != "event":
            continue
        descriptor = descriptors[doc["descriptor"]]
        stream = descriptor["name"]
        if stream == "conditions":
            step += 1
        if stream in _LAB_STREAMS or stream.startswith("handling"):
            continue
        for key, value in doc["data"].items():
            about = descriptor["data_keys"][key]
            if about.get("units") and about.get("dtype") in ("number", "integer"):
                quantity = ureg.Quantity(float(value), about["units"])
                found.append({"step": step, "reading": key, "value": format_quantity(quantity)})
    return found
