"""Read a trial's measurement back out of its bluesky documents (the store's truth)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pint

from planners import Measurement


def measurement_from_documents(
    docs: list[tuple[str, dict[str, Any]]], spectrometer: str, parameters: dict[str, pint.Quantity]
) -> Measurement:
    """The spectrum of the run's primary stream, with wavelengths from its configuration;
    ValueError if there is none, or if the detector flagged it saturated."""
    descriptors = {d["uid"]: d for n, d in docs if n == "descriptor" and d["name"] == "primary"}
    events = [d for n, d in docs if n == "event" and d["descriptor"] in descriptors]
    if not events:
        raise ValueError("the run recorded no measurement (no event in the primary stream)")
    event = events[-1]
    saturated = event["data"].get(f"{spectrometer}-saturated", 0)
    if saturated:
        raise ValueError(
            f"the spectrum is saturated or over range at {saturated} wavelengths; "
            "dilute the sample or shorten the integration time"
        )
    config = descriptors[event["descriptor"]]["configuration"][spectrometer]["data"]
    return Measurement(
        wavelengths_nm=np.asarray(config[f"{spectrometer}-wavelengths"], dtype=float),
        absorbance=np.asarray(event["data"][f"{spectrometer}-absorbance"], dtype=float),
        parameters=parameters,
    )
