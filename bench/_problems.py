"""Test problems for the planner benchmarks: a search space, a noise-free truth and its optimum.

Hartmann6 and Branin are the field's standard synthetic functions (BoTorch's
implementations); the SnAr problem is the reaction-kinetics simulation of
``simulators.reaction`` with a linear constraint, its optimum found once by differential
evolution. The colour-matching problem runs through the lab itself (``bench._colour``);
here it contributes only its noise-free truth, for scoring.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from planners import LinearConstraint, Parameter, SearchSpace


@dataclass(frozen=True)
class Problem:
    """A benchmark problem: the planner minimises or maximises ``truth`` over ``space``."""

    name: str
    space: SearchSpace
    #: the true value at a point (a categorical parameter's value is its choice's name)
    truth: Callable[[Mapping[str, Any]], float]
    minimize: bool
    optimum: float
    #: trials each model-based planner gets
    budget: int

    def regret(self, value: float) -> float:
        """How far ``value`` is from the optimum (>= 0)."""
        return max(value - self.optimum, 0.0) if self.minimize else max(self.optimum - value, 0.0)

    @property
    def typical(self) -> float:
        """The median truth of a uniformly random feasible point: where "95% of the way
        to the optimum" starts from."""
        if self.name not in _TYPICAL:
            _TYPICAL[self.name] = _typical(self)
        return _TYPICAL[self.name]

    def reached(self, value: float, share: float = 0.95) -> bool:
        """``value`` is at least ``share`` of the way from a typical point to the optimum."""
        return self.regret(value) <= (1.0 - share) * abs(self.typical - self.optimum)


_TYPICAL: dict[str, float] = {}


def _typical(problem: Problem) -> float:
    rng = np.random.default_rng(12345)
    values: list[float] = []
    while len(values) < 2000:
        point = {p.name: p.from_unit(rng.random()) for p in problem.space.parameters}
        if problem.space.feasible(point):
            values.append(problem.truth(point))
    return float(np.median(values))


def _hartmann6() -> Problem:
    from botorch.test_functions import Hartmann

    function = Hartmann(dim=6)
    names = [f"x{i}" for i in range(1, 7)]

    def truth(v: Mapping[str, float]) -> float:
        import torch

        return float(function(torch.tensor([[v[n] for n in names]], dtype=torch.double)))

    space = SearchSpace([Parameter(n, "dimensionless", 0.0, 1.0) for n in names])
    return Problem("hartmann6", space, truth, True, float(function.optimal_value), 50)


def _branin() -> Problem:
    def truth(v: Mapping[str, float]) -> float:
        x1, x2 = v["x1"], v["x2"]
        b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
        return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)

    space = SearchSpace(
        [Parameter("x1", "dimensionless", -5.0, 10.0), Parameter("x2", "dimensionless", 0.0, 15.0)]
    )
    return Problem("branin", space, truth, True, 0.397887, 25)


def _snar() -> Problem:
    from simulators.reaction import SnArKinetics

    model = SnArKinetics()

    def truth(v: Mapping[str, float]) -> float:
        return model.outcomes(v["temperature"], v["time"], v["substrate"], v["nucleophile"])[
            "yield"
        ]

    space = SearchSpace(
        [
            Parameter("temperature", "degC", 30.0, 140.0),
            Parameter("time", "s", 30.0, 600.0),
            Parameter("substrate", "mol/L", 0.1, 0.5),
            Parameter("nucleophile", "mol/L", 0.2, 2.0),
        ],
        # at most 4 equivalents of the nucleophile
        [LinearConstraint({"nucleophile": 1.0, "substrate": -4.0}, 0.0)],
    )
    return Problem("snar", space, truth, False, _snar_optimum(), 30)


@cache
def _snar_optimum() -> float:
    from scipy.optimize import LinearConstraint as ScipyConstraint
    from scipy.optimize import differential_evolution

    from simulators.reaction import SnArKinetics

    model = SnArKinetics()
    found = differential_evolution(
        lambda x: -model.outcomes(*x)["yield"],
        [(30, 140), (30, 600), (0.1, 0.5), (0.2, 2.0)],
        constraints=[ScipyConstraint([[0, 0, -4, 1]], -np.inf, 0)],
        seed=0,
        tol=1e-10,
    )
    return float(-found.fun)


def _mixed(name: str) -> Callable[[], Problem]:
    def make() -> Problem:
        from bench import _mixed_problems

        found: Problem = getattr(_mixed_problems, name)()
        return found

    return make


PROBLEMS: dict[str, Callable[[], Problem]] = {
    "branin": _branin,
    "hartmann6": _hartmann6,
    "snar": _snar,
    "suzuki": _mixed("suzuki"),
    "cn_coupling": _mixed("cn_coupling"),
    "amine_snar": _mixed("amine_snar"),
}
