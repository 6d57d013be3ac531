"""Simulated reaction kinetics: an SnAr substitution with a competing and a consecutive step.

2,4-difluoronitrobenzene (A) reacts with pyrrolidine (B) to the ortho product (C, wanted)
and the para product (D); both react on with B to the bis-substituted product (E):

    A + B -> C   (k1)        A + B -> D   (k2)
    C + B -> E   (k3)        D + B -> E   (k4)

Second-order rate laws with Arrhenius temperature dependence; the consecutive steps have
the higher activation energies, so heat and time raise conversion but eat the product:
the yield of C has an optimum inside the space, as in the flow-chemistry studies this
problem is modelled on. Solved with scipy's ODE integrator for a batch of given residence
time (a plug-flow reactor is the same equations).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pint
from scipy.integrate import solve_ivp

GAS_CONSTANT = 8.314  # J/(mol K)


@dataclass(frozen=True)
class SnArKinetics:
    """Rate constants at ``reference_temperature_c`` (L/(mol s)) and activation energies (J/mol)."""

    k_ref: tuple[float, float, float, float] = (0.020, 0.0025, 0.004, 0.002)
    activation: tuple[float, float, float, float] = (35e3, 38e3, 65e3, 60e3)
    reference_temperature_c: float = 90.0

    def rates(self, temperature_c: float) -> np.ndarray:
        """The four rate constants at ``temperature_c``."""
        t, t_ref = temperature_c + 273.15, self.reference_temperature_c + 273.15
        k = np.asarray(self.k_ref) * np.exp(
            -np.asarray(self.activation) / GAS_CONSTANT * (1.0 / t - 1.0 / t_ref)
        )
        return k

    def concentrations(
        self, temperature_c: float, time_s: float, substrate_m: float, nucleophile_m: float
    ) -> dict[str, float]:
        """Concentrations (mol/L) of A, B, C, D and E after a time at a temperature.

        Args:
            temperature_c: reaction temperature (degC).
            time_s: reaction time (s).
            substrate_m: starting concentration of A (mol/L).
            nucleophile_m: starting concentration of B (mol/L).
        """
        k1, k2, k3, k4 = self.rates(temperature_c)

        def derivative(_: float, c: np.ndarray) -> np.ndarray:
            a, b, cc, d, _e = c
            r1, r2, r3, r4 = k1 * a * b, k2 * a * b, k3 * cc * b, k4 * d * b
            return np.array([-r1 - r2, -r1 - r2 - r3 - r4, r1 - r3, r2 - r4, r3 + r4])

        start = np.array([substrate_m, nucleophile_m, 0.0, 0.0, 0.0])
        if time_s <= 0:
            return dict(zip("ABCDE", map(float, start), strict=True))
        solved = solve_ivp(derivative, (0.0, time_s), start, method="LSODA", rtol=1e-8, atol=1e-10)
        return dict(zip("ABCDE", map(float, solved.y[:, -1]), strict=True))

    def outcomes(
        self, temperature_c: float, time_s: float, substrate_m: float, nucleophile_m: float
    ) -> dict[str, float]:
        """What an HPLC reports: yield of C (% of A charged), purity of C (% of the
        products and remaining substrate), and conversion of A (%).

        Args:
            temperature_c: reaction temperature (degC).
            time_s: reaction time (s).
            substrate_m: starting concentration of A (mol/L).
            nucleophile_m: starting concentration of B (mol/L).
        """
        c = self.concentrations(temperature_c, time_s, substrate_m, nucleophile_m)
        organics = c["A"] + c["C"] + c["D"] + c["E"]
        return {
            "yield": 100.0 * c["C"] / substrate_m,
            "purity": 100.0 * c["C"] / organics if organics > 0 else 0.0,
            "conversion": 100.0 * (1.0 - c["A"] / substrate_m),
        }


#: how an amine's rates compare with pyrrolidine's: (ortho substitution, para
#: substitution, second substitution) multipliers of :class:`SnArKinetics`' rate constants
AmineRates = tuple[float, float, float]


@dataclass
class SnArChemistry:
    """The ground truth of the reaction-yield example: a vial's contents and how it was
    treated -> what an HPLC would report (yield, purity, conversion in %).

    The substrate and each nucleophile (``amines``: reagent name -> its rates relative to
    pyrrolidine's) are stock solutions of ``substrate_stock_m`` and
    ``nucleophile_stock_m`` (mol/L); every other reagent is solvent. The vial reacts at
    its temperature for as long as it was stirred. A scalar ground truth: it returns
    named quantities, not a spectrum, so ``wavelengths`` is not used.
    """

    substrate: str = "substrate"
    amines: Mapping[str, AmineRates] = field(default_factory=lambda: {"nucleophile": (1, 1, 1)})
    substrate_stock_m: float = 1.0
    nucleophile_stock_m: float = 2.0
    kinetics: SnArKinetics = field(default_factory=SnArKinetics)

    def __call__(
        self,
        composition: Mapping[str, pint.Quantity],
        conditions: Mapping[str, pint.Quantity],
        wavelengths: pint.Quantity | None = None,
    ) -> dict[str, pint.Quantity]:
        ureg = pint.get_application_registry()
        volumes = {k: float(v.m_as("mL")) for k, v in composition.items()}
        total = sum(volumes.values())
        substrate_ml = volumes.get(self.substrate, 0.0)
        if total <= 0 or substrate_ml <= 0:
            zero = ureg.Quantity(0.0, "percent")
            return {"yield": zero, "purity": zero, "conversion": zero}
        amine_ml = {a: volumes[a] for a in self.amines if volumes.get(a, 0.0) > 0}
        nucleophile_ml = sum(amine_ml.values())
        outcomes = self.kinetics_of(amine_ml).outcomes(
            float(conditions.get("temperature", ureg.Quantity(25.0, "degC")).m_as("degC")),
            float(conditions.get("stir_time", 0 * ureg.s).m_as("s")),
            self.substrate_stock_m * substrate_ml / total,
            self.nucleophile_stock_m * nucleophile_ml / total,
        )
        return {k: ureg.Quantity(v, "percent") for k, v in outcomes.items()}

    def kinetics_of(self, amine_ml: Mapping[str, float]) -> SnArKinetics:
        """The rates of the amines in the vial (a mixture: by volume-weighted rates)."""
        total = sum(amine_ml.values())
        if total <= 0:
            return self.kinetics
        ortho, para, second = (
            sum(self.amines[a][i] * ml for a, ml in amine_ml.items()) / total for i in range(3)
        )
        k1, k2, k3, k4 = self.kinetics.k_ref
        return SnArKinetics(
            (k1 * ortho, k2 * para, k3 * second, k4 * second),
            self.kinetics.activation,
            self.kinetics.reference_temperature_c,
        )


@dataclass
class SnArAmineChemistry(SnArChemistry):
    """The SnAr example with a choice of amine, each a stock on its own pump: pyrrolidine
    reacts fastest but over-reacts to the bis product; piperidine is slower and more
    selective for the ortho product, its best yield (about 81%) above pyrrolidine's (75%)
    and at a higher temperature; morpholine is too slow (59% at best). Its rates fall with
    the amine's nucleophilicity, as Mayr's scale orders them (a twin, not measured data).
    """

    amines: Mapping[str, AmineRates] = field(
        default_factory=lambda: {
            "pyrrolidine": (1.0, 1.0, 1.0),
            "piperidine": (0.35, 0.12, 0.12),
            "morpholine": (0.06, 0.06, 0.015),
        }
    )
