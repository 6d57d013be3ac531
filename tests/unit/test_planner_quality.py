"""Our planner's quality cannot regress silently: on Branin (2-D, cheap), a fixed seed set
must come close to the optimum and beat Sobol on the same budget. The figures behind the
bound are in docs/benchmarks.md (bench/planner_efficiency.py)."""

from __future__ import annotations

import math

import pytest

from planners import Objective, Parameter, SearchSpace, planner_class

BRANIN_OPTIMUM = 0.397887
SPACE = SearchSpace(
    [Parameter("x1", "dimensionless", -5.0, 10.0), Parameter("x2", "dimensionless", 0.0, 15.0)]
)
BUDGET = 16
#: ten seeds, judged by their median: a trajectory this short turns on the last digits of
#: the model's fit, so the numerical libraries or the machine can send a few seeds to a
#: regret near 1.7 while the planner is as good as before. With three seeds a library
#: change failed the guard so; with five (0-4), a new machine (2026-12-07) sent seeds 1-3
#: there, the same code that had passed the day before, while seeds 5-11 gave 6 of 7
#: under 0.5
SEEDS = tuple(range(10))


def branin(x1: float, x2: float) -> float:
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def regret_after_budget(name: str, seed: int) -> float:
    planner = planner_class(name)(SPACE, [Objective("y")], seed=seed)  # as a user gets it
    best = math.inf
    for _ in range(BUDGET):
        s = planner.ask(1)[0]
        y = branin(**SPACE.magnitudes(s.parameters))
        best = min(best, y)
        planner.tell(s.index, {"y": y})
    return best - BRANIN_OPTIMUM


@pytest.fixture(scope="module")
def regrets() -> dict[str, list[float]]:
    return {name: [regret_after_budget(name, s) for s in SEEDS] for name in ("ax", "sobol")}


def test_our_planner_gets_close_to_branins_optimum(regrets):
    # a typical random point is about 34 above the optimum; 0.5 is within 1.5% of that
    assert sorted(regrets["ax"])[len(SEEDS) // 2] < 0.5, regrets["ax"]


def test_our_planner_beats_sobol_on_the_same_budget(regrets):
    assert sum(regrets["ax"]) < sum(regrets["sobol"]), regrets
