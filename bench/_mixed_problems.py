"""Mixed-space benchmark problems: choices (catalyst, base, amine) beside numbers.

Two from published reaction-optimisation data, as shipped in the ``summit`` package
(MIT licence; fetched once by ``pip download`` into ``bench/.cache``, never installed):

- ``suzuki``: Reizman et al., *React. Chem. Eng.* 2016, 1, 658 (case 1): a Suzuki-Miyaura
  coupling over eight precatalyst/ligand pairs, residence time, temperature and catalyst
  loading, 96 measured yields;
- ``cn_coupling``: Baumgartner et al., *Org. Process Res. Dev.* 2019, 23, 1594: a
  Pd-catalysed C-N coupling of an aniline over three catalysts, four bases, base
  equivalents (three levels, a discrete parameter), temperature and residence time, 96
  measured yields. The bases carry descriptors: pKa of the conjugate acid in acetonitrile
  (Kaljurand et al., *J. Org. Chem.* 2005, 70, 1019; BTMG from Barton's series) and molar
  mass.

Each is scored by an emulator fitted once to its data (a Gaussian process over one-hot
choices and the scaled numbers, scikit-learn's), as Summit scores its own benchmarks: the
truth between the measured points is the emulator's, its optimum found by trying every
choice over a grid of the numbers. The third, ``amine_snar``, is the lab's own SnAr twin
with a choice of amine (``simulators.reaction.SnArAmineChemistry``), the amines described
by Mayr's nucleophilicity and pKa.
"""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bench._problems import Problem
from planners import ChoiceParameter, DiscreteParameter, LinearConstraint, Parameter, SearchSpace

CACHE = Path(__file__).parent / ".cache"
SUMMIT = "summit==0.8.4"

#: pKa of the conjugate acid in acetonitrile, molar mass (g/mol)
BASES = {
    "TEA": (18.82, 101.19),
    "TMG": (23.30, 115.18),
    "BTMG": (24.31, 171.29),
    "DBU": (24.34, 152.24),
}
#: Mayr nucleophilicity N (acetonitrile), pKa of the conjugate acid (water)
AMINES = {"pyrrolidine": (18.6, 11.3), "piperidine": (17.4, 11.1), "morpholine": (15.6, 8.4)}


def summit_data(name: str) -> Any:
    """One of Summit's experimental data sets as a DataFrame (its type row dropped)."""
    import pandas as pd

    CACHE.mkdir(exist_ok=True)
    wheels = sorted(CACHE.glob("summit-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", SUMMIT, "-d", str(CACHE)],
            check=True,
        )
        wheels = sorted(CACHE.glob("summit-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        text = wheel.read(f"summit/benchmarks/data/{name}.csv").decode()
    return pd.read_csv(io.StringIO(text), skiprows=[1])


class Emulator:
    """A GP fitted to measured yields: choices one-hot, numbers scaled to 0..1 (``log``
    ones on a log scale).

    Args:
        choices: choice parameter -> its choices, in order.
        numbers: numeric parameter -> (low, high).
        log: the numeric parameters scaled by their logarithm.
    """

    def __init__(
        self,
        choices: Mapping[str, Sequence[str]],
        numbers: Mapping[str, tuple[float, float]],
        log: Sequence[str] = (),
    ) -> None:
        self.choices, self.numbers, self.log = dict(choices), dict(numbers), set(log)
        self.model: Any = None

    def features(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        out = []
        for r in rows:
            x = [float(r[name] == c) for name, cs in self.choices.items() for c in cs]
            for name, (low, high) in self.numbers.items():
                v, lo, hi = float(r[name]), low, high
                if name in self.log:
                    v, lo, hi = np.log(v), np.log(lo), np.log(hi)
                x.append((v - lo) / (hi - lo))
            out.append(x)
        return np.asarray(out)

    def fit(self, rows: Sequence[Mapping[str, Any]], y: np.ndarray) -> Emulator:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        x = self.features(rows)
        kernel = ConstantKernel() * Matern(np.ones(x.shape[1]), nu=2.5) + WhiteKernel(0.01)
        self.model = GaussianProcessRegressor(
            kernel, normalize_y=True, n_restarts_optimizer=4, random_state=0
        ).fit(x, y)
        return self

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return np.clip(self.model.predict(self.features(rows)), 0.0, 100.0)


def _optimum(space: SearchSpace, truth_many: Any, points: int) -> float:
    """The best truth over every choice (and discrete value) and a grid of ``points`` per
    continuous parameter, polished by Nelder-Mead from the best few."""
    from scipy.optimize import minimize

    fixed = [p for p in space.parameters if not isinstance(p, Parameter)]
    free = [p for p in space.parameters if isinstance(p, Parameter)]
    levels = [p.choices if isinstance(p, ChoiceParameter) else p.values for p in fixed]
    grid = list(itertools.product(*(np.linspace(p.lower, p.upper, points) for p in free)))
    best: list[tuple[float, dict[str, Any]]] = []
    for combo in itertools.product(*levels):
        rows = [
            {
                **dict(zip((p.name for p in fixed), combo, strict=True)),
                **dict(zip((p.name for p in free), g, strict=True)),
            }
            for g in grid
        ]
        rows = [r for r in rows if space.feasible(r)]
        values = truth_many(rows)
        i = int(np.argmax(values))
        best.append((float(values[i]), rows[i]))
    best.sort(key=lambda b: -b[0])
    found = best[0][0]
    for _, row in best[:3]:

        def negative(x: np.ndarray, row: dict[str, Any] = row) -> float:
            point = {
                **row,
                **{
                    p.name: float(np.clip(v, p.lower, p.upper))
                    for p, v in zip(free, x, strict=True)
                },
            }
            return -float(truth_many([point])[0]) if space.feasible(point) else 0.0

        result = minimize(negative, [row[p.name] for p in free], method="Nelder-Mead")
        found = max(found, -float(result.fun))
    return found


@cache
def _suzuki() -> tuple[SearchSpace, Emulator]:
    data = summit_data("reizman_suzuki_case_1")
    catalysts = sorted(data["catalyst"].unique())
    numbers = {"t_res": (60.0, 600.0), "temperature": (30.0, 110.0), "catalyst_loading": (0.5, 2.5)}
    emulator = Emulator({"catalyst": catalysts}, numbers, log=["t_res"])
    emulator.fit(data.to_dict("records"), data["yld"].to_numpy())
    space = SearchSpace(
        [
            ChoiceParameter("catalyst", tuple(catalysts)),
            Parameter("t_res", "s", *numbers["t_res"]),
            Parameter("temperature", "degC", *numbers["temperature"]),
            Parameter("catalyst_loading", "percent", *numbers["catalyst_loading"]),
        ]
    )
    return space, emulator


@cache
def _cn_coupling() -> tuple[SearchSpace, Emulator]:
    data = summit_data("baumgartner_aniline_cn_crosscoupling")
    data["yld"] = 100.0 * data["yld"]
    catalysts = ("tBuXPhos", "tBuBrettPhos", "AlPhos")
    bases = tuple(BASES)
    numbers = {
        "base_equivalents": (1.0, 2.5),
        "temperature": (30.0, 100.0),
        "t_res": (60.0, 1800.0),
    }
    emulator = Emulator({"catalyst": catalysts, "base": bases}, numbers, log=["t_res"])
    emulator.fit(data.to_dict("records"), data["yld"].to_numpy())
    space = SearchSpace(
        [
            ChoiceParameter("catalyst", catalysts),
            ChoiceParameter("base", bases, ("pka_mecn", "molar_mass"), BASES),
            DiscreteParameter("base_equivalents", "", (1.1, 1.65, 2.2)),
            Parameter("temperature", "degC", *numbers["temperature"]),
            Parameter("t_res", "s", *numbers["t_res"]),
        ]
    )
    return space, emulator


def _emulated(name: str, make: Any, budget: int) -> Problem:
    space, emulator = make()

    def truth(v: Mapping[str, float | str]) -> float:
        return float(emulator([v])[0])

    return Problem(name, space, truth, False, _emulated_optimum(name, make), budget)


@cache
def _emulated_optimum(name: str, make: Any) -> float:
    space, emulator = make()
    return _optimum(space, emulator, 12)


def suzuki() -> Problem:
    """Reizman 2016 case 1: eight catalysts and three numbers, yield to maximise."""
    return _emulated("suzuki", _suzuki, 30)


def cn_coupling() -> Problem:
    """Baumgartner 2019: catalyst, base (with descriptors), discrete equivalents,
    temperature and residence time; yield to maximise."""
    return _emulated("cn_coupling", _cn_coupling, 30)


def _amine_space() -> SearchSpace:
    return SearchSpace(
        [
            ChoiceParameter("amine", tuple(AMINES), ("mayr_n", "pka"), AMINES),
            Parameter("temperature", "degC", 30.0, 140.0),
            Parameter("time", "s", 30.0, 600.0),
            Parameter("substrate", "mol/L", 0.1, 0.5),
            Parameter("nucleophile", "mol/L", 0.2, 2.0),
        ],
        [LinearConstraint({"nucleophile": 1.0, "substrate": -4.0}, 0.0)],
    )


def _amine_truth(v: Mapping[str, Any]) -> float:
    from simulators.reaction import SnArAmineChemistry

    chemistry = SnArAmineChemistry()
    kinetics = chemistry.kinetics_of({str(v["amine"]): 1.0})
    return kinetics.outcomes(
        float(v["temperature"]), float(v["time"]), float(v["substrate"]), float(v["nucleophile"])
    )["yield"]


@cache
def _amine_optimum() -> float:
    space = _amine_space()
    return _optimum(space, lambda rows: np.array([_amine_truth(r) for r in rows]), 7)


def amine_snar() -> Problem:
    """The lab's SnAr twin with a choice of three amines (descriptors: Mayr N, pKa)."""
    return Problem("amine_snar", _amine_space(), _amine_truth, False, _amine_optimum(), 30)
