"""Objectives: scalars computed from what a trial measured.

Each takes a :class:`Measurement` and returns a float. The campaign file picks one by
name, with its settings; a lab may also name its own callable (``package.module:function``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pint


@dataclass(frozen=True)
class Measurement:
    """A measured spectrum and the conditions it was taken under, as objectives read it."""

    wavelengths_nm: np.ndarray
    absorbance: np.ndarray
    parameters: Mapping[str, pint.Quantity]


ObjectiveFunction = Callable[[Measurement], float]


@dataclass(frozen=True)
class SpectralDistance:
    """Root-mean-square difference from a target spectrum (interpolated onto the
    measured wavelengths, compared where both exist)."""

    target_wavelengths_nm: np.ndarray
    target_absorbance: np.ndarray

    def __call__(self, m: Measurement) -> float:
        lo = max(m.wavelengths_nm.min(), self.target_wavelengths_nm.min())
        hi = min(m.wavelengths_nm.max(), self.target_wavelengths_nm.max())
        mask = (m.wavelengths_nm >= lo) & (m.wavelengths_nm <= hi)
        if not mask.any():
            raise ValueError("measured and target spectra share no wavelengths")
        target = np.interp(
            m.wavelengths_nm[mask], self.target_wavelengths_nm, self.target_absorbance
        )
        return float(np.sqrt(np.mean((m.absorbance[mask] - target) ** 2)))


@dataclass(frozen=True)
class AbsorbanceAt:
    """Absorbance at one wavelength (e.g. to maximise a product's band)."""

    wavelength_nm: float

    def __call__(self, m: Measurement) -> float:
        return float(np.interp(self.wavelength_nm, m.wavelengths_nm, m.absorbance))


@dataclass(frozen=True)
class MaxAbsorbance:
    """The spectrum's highest absorbance (e.g. to keep it within the linear range)."""

    def __call__(self, m: Measurement) -> float:
        return float(np.max(m.absorbance))


@dataclass(frozen=True)
class TotalVolume:
    """Sum of the trial's volume parameters, in mL (e.g. to save reagent)."""

    def __call__(self, m: Measurement) -> float:
        return float(sum(q.m_as("mL") for q in m.parameters.values() if q.check("[volume]")))
