"""Read a trial's measurement back out of its bluesky documents (the store's truth)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pint

from planners import Measurement

ureg = pint.get_application_registry()
#: the lab's spectrometers by device name (or one name): a run's spectrum is the one read
Spectrometers = str | Sequence[str]


def measurement_from_documents(
    docs: list[tuple[str, dict[str, Any]]],
    spectrometers: Spectrometers,
    parameters: dict[str, pint.Quantity],
) -> Measurement:
    """The last event of the run's primary stream: the spectrum (if the spectrometer was
    read), with wavelengths from its configuration, and every scalar reading with the
    unit its data key declares; ValueError if there is no event, or if the detector
    flagged the spectrum saturated.

    Args:
        docs: the run's documents, as ``(name, doc)`` pairs.
        spectrometers: the lab's spectrometers' device names (the one read is used).
        parameters: the trial's parameters with units.
    """
    descriptors = {d["uid"]: d for n, d in docs if n == "descriptor" and d["name"] == "primary"}
    events = [d for n, d in docs if n == "event" and d["descriptor"] in descriptors]
    if not events:
        raise ValueError("the run recorded no measurement (no event in the primary stream)")
    event = events[-1]
    names = [spectrometers] if isinstance(spectrometers, str) else list(spectrometers)
    spectrometer = next((n for n in names if f"{n}-absorbance" in event["data"]), "")
    saturated = event["data"].get(f"{spectrometer}-saturated", 0)
    if saturated:
        raise ValueError(
            f"the spectrum is saturated or over range at {saturated} wavelengths; "
            "dilute the sample or shorten the integration time"
        )
    descriptor = descriptors[event["descriptor"]]
    values = {
        key: ureg.Quantity(float(value), descriptor["data_keys"][key]["units"])
        for key, value in event["data"].items()
        if descriptor["data_keys"][key].get("units")
        and descriptor["data_keys"][key].get("dtype") in ("number", "integer")
        and not descriptor["data_keys"][key].get("shape")
    }
    spectrum = event["data"].get(f"{spectrometer}-absorbance")
    if spectrum is None:
        return Measurement(None, None, parameters, values)
    config = descriptor["configuration"][spectrometer]["data"]
    return Measurement(
        wavelengths_nm=np.asarray(config[f"{spectrometer}-wavelengths"], dtype=float),
        absorbance=np.asarray(spectrum, dtype=float),
        parameters=parameters,
        values=values,
    )
