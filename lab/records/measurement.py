"""Read a trial's measurement back out of its bluesky documents (the store's truth)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pint

from planners import Measurement, ParameterValue

ureg = pint.get_application_registry()
#: the lab's spectrometers by device name (or one name): a run's spectrum is the one read
Spectrometers = str | Sequence[str]
#: the device kinds whose readings are a trial's spectrum
SPECTRA_FROM = ("spectrometer", "pylabrobot_plate_reader")


def well_of(sample: str | None) -> str | None:
    """The well of a plate's sample (``plate/B3`` -> ``B3``); None for a vial."""
    return sample.split("/", 1)[1] if sample and "/" in sample else None


def measurement_from_documents(
    docs: list[tuple[str, dict[str, Any]]],
    spectrometers: Spectrometers,
    parameters: dict[str, ParameterValue],
    well: str | None = None,
) -> Measurement:
    """The last event of the run's primary stream (of a plate's run: ``well``'s event): the spectrum (if the spectrometer was
    read), with wavelengths from its configuration, and every scalar reading with the
    unit its data key declares; ValueError if there is no event, or if the detector
    flagged the spectrum saturated.

    Args:
        docs: the run's documents, as ``(name, doc)`` pairs.
        spectrometers: the lab's spectrometers' device names (the one read is used).
        parameters: the trial's parameters with units.
        well: the trial's well on a plate (its event names it); None for a vial's run.
    """
    descriptors = {d["uid"]: d for n, d in docs if n == "descriptor" and d["name"] == "primary"}
    events = [d for n, d in docs if n == "event" and d["descriptor"] in descriptors]
    if well is not None:
        events = [e for e in events if well in _wells(e)]
    if not events:
        where = f" for well {well}" if well is not None else ""
        raise ValueError(f"the run recorded no measurement{where} (no event in the primary stream)")
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


def _wells(event: dict[str, Any]) -> list[str]:
    """The well an event of a plate's run was read from (its reader's ``well`` reading)."""
    return [v for k, v in event["data"].items() if k.endswith("-well")]
