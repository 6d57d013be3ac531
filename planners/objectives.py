"""Objectives: scalars computed from what a trial measured.

Each takes a :class:`Measurement` and returns a float. The campaign file picks one by
name, with its settings; a lab may also name its own callable (``package.module:function``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pint


@dataclass(frozen=True)
class Measurement:
    """What a trial measured, as objectives read it: the spectrum (if the protocol took
    one), every scalar reading with its unit (an analyser's yield and purity, the block's
    temperature), keyed by its bluesky data key (``hplc-yield``), and the trial's
    parameters (quantities, a choice by its name)."""

    wavelengths_nm: np.ndarray | None
    absorbance: np.ndarray | None
    parameters: Mapping[str, pint.Quantity | str]
    values: Mapping[str, pint.Quantity] = field(default_factory=dict)

    def spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """Wavelengths (nm) and absorbance; ValueError if the trial took no spectrum."""
        if self.wavelengths_nm is None or self.absorbance is None:
            raise ValueError(
                "needs a spectrum, and the protocol measured none (add a measure step)"
            )
        return self.wavelengths_nm, self.absorbance

    def value(self, name: str) -> pint.Quantity:
        """The reading called ``name``: its data key (``hplc-yield``) or, if only one
        device reports it, its own name (``yield``); ValueError naming what there is."""
        if name in self.values:
            return self.values[name]
        found = [k for k in self.values if k.endswith(f"-{name}")]
        if len(found) == 1:
            return self.values[found[0]]
        why = "several readings are" if found else "no reading is"
        raise ValueError(f"{why} called {name!r}; the trial measured {sorted(self.values)}")


ObjectiveFunction = Callable[[Measurement], float]


@runtime_checkable
class SpectrumObjective(Protocol):
    """An objective computed from the spectrum alone, which can also score spectra drawn
    from a model: a planner that models the spectrum (``spectral``) optimises it so."""

    def __call__(self, m: Measurement) -> float: ...

    def of_spectra(self, wavelengths_nm: np.ndarray, absorbance: Any) -> Any:
        """The objective of each spectrum in a batch.

        Args:
            wavelengths_nm: where the spectra are sampled (nm).
            absorbance: a torch tensor ``(..., len(wavelengths_nm))``.

        Returns:
            A tensor ``(...)``, differentiable in ``absorbance``.
        """
        ...


@dataclass(frozen=True)
class SpectralDistance:
    """Root-mean-square difference from a target spectrum (interpolated onto the
    measured wavelengths, compared where both exist)."""

    target_wavelengths_nm: np.ndarray
    target_absorbance: np.ndarray

    def __call__(self, m: Measurement) -> float:
        wavelengths, absorbance = m.spectrum()
        lo = max(wavelengths.min(), self.target_wavelengths_nm.min())
        hi = min(wavelengths.max(), self.target_wavelengths_nm.max())
        mask = (wavelengths >= lo) & (wavelengths <= hi)
        if not mask.any():
            raise ValueError("measured and target spectra share no wavelengths")
        target = np.interp(wavelengths[mask], self.target_wavelengths_nm, self.target_absorbance)
        return float(np.sqrt(np.mean((absorbance[mask] - target) ** 2)))

    def of_spectra(self, wavelengths_nm: np.ndarray, absorbance: Any) -> Any:
        """The RMS distance of each spectrum in a batch (see :class:`SpectrumObjective`).

        Args:
            wavelengths_nm: where the spectra are sampled (nm).
            absorbance: a torch tensor ``(..., len(wavelengths_nm))``.
        """
        lo = max(wavelengths_nm.min(), self.target_wavelengths_nm.min())
        hi = min(wavelengths_nm.max(), self.target_wavelengths_nm.max())
        keep = np.flatnonzero((wavelengths_nm >= lo) & (wavelengths_nm <= hi))
        target = np.interp(wavelengths_nm[keep], self.target_wavelengths_nm, self.target_absorbance)
        difference = absorbance[..., keep.tolist()] - absorbance.new_tensor(target)
        return difference.pow(2).mean(dim=-1).sqrt()


@dataclass(frozen=True)
class AbsorbanceAt:
    """Absorbance at one wavelength (e.g. to maximise a product's band)."""

    wavelength_nm: float

    def __call__(self, m: Measurement) -> float:
        return float(np.interp(self.wavelength_nm, *m.spectrum()))

    def of_spectra(self, wavelengths_nm: np.ndarray, absorbance: Any) -> Any:
        """The absorbance at the wavelength, linearly interpolated, of each spectrum in a
        batch (see :class:`SpectrumObjective`).

        Args:
            wavelengths_nm: where the spectra are sampled (nm).
            absorbance: a torch tensor ``(..., len(wavelengths_nm))``.
        """
        i = int(
            np.clip(
                np.searchsorted(wavelengths_nm, self.wavelength_nm) - 1, 0, len(wavelengths_nm) - 2
            )
        )
        t = float(
            (self.wavelength_nm - wavelengths_nm[i]) / (wavelengths_nm[i + 1] - wavelengths_nm[i])
        )
        t = min(max(t, 0.0), 1.0)
        return absorbance[..., i] * (1.0 - t) + absorbance[..., i + 1] * t


@dataclass(frozen=True)
class MaxAbsorbance:
    """The spectrum's highest absorbance (e.g. to keep it within the linear range)."""

    def __call__(self, m: Measurement) -> float:
        return float(np.max(m.spectrum()[1]))

    def of_spectra(self, wavelengths_nm: np.ndarray, absorbance: Any) -> Any:
        """The highest absorbance of each spectrum in a batch (see :class:`SpectrumObjective`).

        Args:
            wavelengths_nm: where the spectra are sampled (nm).
            absorbance: a torch tensor ``(..., len(wavelengths_nm))``.
        """
        return absorbance.amax(dim=-1)


@dataclass(frozen=True)
class MeasuredValue:
    """One scalar reading as it was measured (e.g. an analyser's ``yield``), as a number
    in ``unit`` (default: the unit the instrument reported it in)."""

    name: str
    unit: str | None = None

    def __call__(self, m: Measurement) -> float:
        value = m.value(self.name)
        return float(value.m_as(self.unit) if self.unit else value.m)


@dataclass(frozen=True)
class TotalVolume:
    """Sum of the trial's volume parameters, in mL (e.g. to save reagent)."""

    def __call__(self, m: Measurement) -> float:
        return float(
            sum(
                q.m_as("mL")
                for q in m.parameters.values()
                if isinstance(q, pint.Quantity) and q.check("[volume]")
            )
        )
