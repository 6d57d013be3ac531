"""The sample ledger's view of a run: which vial a trial used and what the instruments
confirmed went into it. Read from the run's documents (the store's truth), never from
what the protocol asked for: a dispense that failed adds nothing, and one cut short (an
emergency stop in the middle of it) adds what its pump delivered until then."""

from __future__ import annotations

import pint

from lab.records.timeline import Documents, after_each_step, cut_short
from protocols import Dispense, Protocol

ureg = pint.get_application_registry()


def vials_handled(documents: Documents, arm: str) -> list[str]:
    """The vials the arm carried in a run, in order (its ``handling`` stream).

    Args:
        documents: the run's documents, as ``(name, doc)`` pairs.
        arm: the arm's device name.
    """
    held = [d["data"].get(f"{arm}-holding") for n, d in documents if n == "event"]
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
