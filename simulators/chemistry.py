"""Simulated colour chemistry: dye stocks mixed in a vial give an absorbance spectrum.

Beer-Lambert mixing of Gaussian absorption bands, plus two non-ideal effects a real
optimiser must discover: dye aggregation that saturates each band at high concentration,
and a pairwise complex (e.g. cyan + yellow) whose formation depends on temperature and on
how long the vial was stirred.

Any callable with the :class:`GroundTruth` signature can replace this model, so a lab can
drop in its own digital twin (named as ``package.module:function`` in the lab file).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pint

ureg = pint.get_application_registry()

WAVELENGTHS_NM = np.arange(380.0, 781.0, 4.0)


class GroundTruth(Protocol):
    """Maps a sample to its true absorbance spectrum (dimensionless, one value per λ).

    ``composition``: reagent name -> volume dispensed (pint volume quantities).
    ``conditions``: ``temperature`` (pint temperature), ``stir_time`` (pint time),
    ``stir_speed`` (pint angular frequency).
    ``wavelengths``: pint length array.
    """

    def __call__(
        self,
        composition: Mapping[str, pint.Quantity],
        conditions: Mapping[str, pint.Quantity],
        wavelengths: pint.Quantity,
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class Dye:
    """One dye's absorption band: where it peaks, how wide, how strong per mL in the vial."""

    name: str
    peak_nm: float
    width_nm: float
    #: absorbance of the stock solution diluted to 1 mL per mL, over a 1 cm path
    strength: float
    #: second, weaker band (nm, relative height); many real dyes have a shoulder
    shoulder: tuple[float, float] | None = None

    def band(self, wavelengths_nm: np.ndarray) -> np.ndarray:
        """Absorbance at each wavelength of the stock diluted to 1 mL per mL (peaking at
        ``strength``), shoulder included.

        Args:
            wavelengths_nm: where to compute it (nm).
        """
        shape = np.exp(-0.5 * ((wavelengths_nm - self.peak_nm) / self.width_nm) ** 2)
        if self.shoulder is not None:
            at, height = self.shoulder
            shape = shape + height * np.exp(-0.5 * ((wavelengths_nm - at) / self.width_nm) ** 2)
        return self.strength * shape


DEFAULT_DYES: tuple[Dye, ...] = (
    Dye("cyan", peak_nm=625.0, width_nm=40.0, strength=2.2, shoulder=(575.0, 0.35)),
    Dye("magenta", peak_nm=530.0, width_nm=35.0, strength=2.0),
    Dye("yellow", peak_nm=430.0, width_nm=30.0, strength=2.6),
)


@dataclass(frozen=True)
class Complex:
    """A pairwise product of two dyes with its own band (the non-ideal interaction)."""

    a: str
    b: str
    peak_nm: float = 560.0
    width_nm: float = 45.0
    strength: float = 3.0
    #: fraction of the limiting dye bound at equilibrium, at 25 degC
    binding: float = 0.35
    #: extra binding per degC above 25 degC
    binding_per_degc: float = 0.006
    #: stirring time constant of complex formation (s)
    mixing_tau_s: float = 40.0


@dataclass
class DyeChemistry:
    """The default ground truth of the colour-matching demo (see module docstring)."""

    dyes: tuple[Dye, ...] = DEFAULT_DYES
    complexes: tuple[Complex, ...] = field(default_factory=lambda: (Complex("cyan", "yellow"),))
    #: reagents with no band of their own (they only dilute)
    diluents: tuple[str, ...] = ("water",)
    #: aggregation limit: a band's absorbance saturates smoothly towards this value
    saturation: float = 2.5

    def __call__(
        self,
        composition: Mapping[str, pint.Quantity],
        conditions: Mapping[str, pint.Quantity],
        wavelengths: pint.Quantity,
    ) -> np.ndarray:
        wl = np.asarray(wavelengths.m_as("nm"), dtype=float)
        volumes = {name: float(v.m_as("mL")) for name, v in composition.items()}
        total = sum(volumes.values())
        if total <= 0:
            return np.zeros_like(wl)
        fraction = {name: v / total for name, v in volumes.items()}
        known = {d.name: d for d in self.dyes}
        unknown = set(fraction) - set(known) - set(self.diluents)
        if unknown:
            raise ValueError(f"no dye model for reagent(s) {sorted(unknown)}")

        temperature = float(conditions.get("temperature", ureg.Quantity(25.0, "degC")).m_as("degC"))
        stir_time = float(conditions.get("stir_time", 0 * ureg.s).m_as("s"))
        free = dict(fraction)
        absorbance = np.zeros_like(wl)
        for cx in self.complexes:
            limiting = min(free.get(cx.a, 0.0), free.get(cx.b, 0.0))
            if limiting <= 0:
                continue
            binding = np.clip(cx.binding + cx.binding_per_degc * (temperature - 25.0), 0.0, 0.95)
            mixed = 1.0 - np.exp(-stir_time / cx.mixing_tau_s)
            bound = limiting * binding * mixed
            free[cx.a] -= bound
            free[cx.b] -= bound
            absorbance += (
                cx.strength * bound * np.exp(-0.5 * ((wl - cx.peak_nm) / cx.width_nm) ** 2)
            )
        for name, f in free.items():
            if name in self.diluents:
                continue
            absorbance += known[name].band(wl) * f
        # aggregation: absorbance grows sub-linearly and saturates
        return self.saturation * (1.0 - np.exp(-absorbance / self.saturation))
