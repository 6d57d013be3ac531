"""A trial's objectives, computed from its stored measurement with their units."""

from __future__ import annotations

import math

import numpy as np
import pint

from lab.records.measurement import Spectrometers, measurement_from_documents, well_of
from lab.store import Store, TrialRecord
from planners import Measurement, ObjectiveFunction, ParameterValue

ureg = pint.get_application_registry()


class Measuring:
    """Reads a run's measurement back from the store and computes the campaign's outcomes.

    Args:
        store: where the runs' documents are.
        spectrometer: the device whose readings are the measurement.
        functions: each outcome's function of the measurement, by name.
    """

    def __init__(
        self, store: Store, spectrometer: Spectrometers, functions: dict[str, ObjectiveFunction]
    ) -> None:
        self.store = store
        self.spectrometer = spectrometer
        self.functions = functions

    def measure(
        self, run_uid: str, parameters: dict[str, ParameterValue], well: str | None = None
    ) -> tuple[Measurement, dict[str, pint.Quantity]]:
        """A run's stored measurement and its outcomes, with their units (a pure number's is
        dimensionless); ValueError with the reason if there is none, or if the data or an
        outcome is not a finite number.

        Args:
            run_uid: the trial's run.
            parameters: the trial's parameters (some objectives use them).
            well: the trial's well, for a plate's run (each well's reading is its own).
        """
        measurement = self.measurement(run_uid, parameters, well)
        if measurement.absorbance is not None and not np.all(np.isfinite(measurement.absorbance)):
            raise ValueError("the spectrum holds values that are not finite (NaN or infinity)")
        outcomes = {n: _quantity(f(measurement)) for n, f in self.functions.items()}
        bad = [f"{n} = {v.m}" for n, v in outcomes.items() if not math.isfinite(v.m)]
        if bad:
            raise ValueError(f"{', '.join(bad)} is not a finite number")
        return measurement, outcomes

    def measurement(
        self, run_uid: str, parameters: dict[str, ParameterValue], well: str | None = None
    ) -> Measurement:
        """A run's measurement as the store holds it (a plate's: ``well``'s)."""
        return measurement_from_documents(
            self.store.documents(run_uid), self.spectrometer, parameters, well
        )

    def of_trial(self, r: TrialRecord) -> Measurement | None:
        """A stored trial's measurement, None if it never ran."""
        if r.run_uid is None:
            return None
        return self.measurement(r.run_uid, r.parameters, well_of(r.sample_id))


def magnitudes(outcomes: dict[str, pint.Quantity]) -> dict[str, float]:
    """What a planner is told: each outcome as a number in its own unit."""
    return {k: float(q.m) for k, q in outcomes.items()}


def _quantity(value: float | pint.Quantity) -> pint.Quantity:
    """An objective's value with its unit: a plain number is a pure number."""
    return value if isinstance(value, pint.Quantity) else ureg.Quantity(float(value), "")
