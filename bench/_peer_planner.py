"""A peer's Bayesian optimiser (BayBE's or BoFire's default), asked and told over stdin and
stdout: run by ``bench.peers`` in an environment of its own, so that the peers' pins never
meet ours. Imports nothing of this project.

The first line is the problem, as JSON: ``{"planner", "seed", "initial", "minimize",
"parameters": [{"name", "lower", "upper"}], "constraints": [{"coefficients": {name: c},
"bound": b}]}`` (each constraint: the sum of c * x is at most b). Then each line is
``{"ask": n}`` (answered with the next n points) or ``{"tell": [[point, y], ...]}``
(answered with ``{}``). Answers are the lines that start with ``@@ ``; anything else a
library prints is not one.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pandas as pd


class BayBE:
    """BayBE's default campaign: its two-phase recommender (a random point, then
    Bayesian optimisation with its default surrogate and acquisition)."""

    def __init__(self, problem: dict[str, Any]) -> None:
        from baybe import Campaign
        from baybe.constraints import ContinuousLinearConstraint
        from baybe.parameters import NumericalContinuousParameter
        from baybe.searchspace import SearchSpace
        from baybe.targets import NumericalTarget
        from baybe.utils.random import set_random_seed

        set_random_seed(problem["seed"])
        parameters = [
            NumericalContinuousParameter(p["name"], (p["lower"], p["upper"]))
            for p in problem["parameters"]
        ]
        constraints = [
            ContinuousLinearConstraint(
                list(c["coefficients"]), "<=", list(c["coefficients"].values()), c["bound"]
            )
            for c in problem["constraints"]
        ]
        space = SearchSpace.from_product(parameters, constraints)
        target = NumericalTarget("y", minimize=problem["minimize"])
        self.campaign = Campaign(space, target)

    def ask(self, n: int) -> list[dict[str, float]]:
        frame = self.campaign.recommend(batch_size=n)
        return [{k: float(v) for k, v in row.items()} for _, row in frame.iterrows()]

    def tell(self, results: list[tuple[dict[str, float], float]]) -> None:
        frame = pd.DataFrame([{**point, "y": y} for point, y in results])
        self.campaign.add_measurements(frame, numerical_measurements_must_be_within_tolerance=False)


class BoFire:
    """BoFire's default single-objective strategy (``SoboStrategy``: a GP and log-noisy
    expected improvement), after ``initial`` points of its random strategy."""

    def __init__(self, problem: dict[str, Any]) -> None:
        from bofire.data_models.constraints.api import LinearInequalityConstraint
        from bofire.data_models.domain.api import Constraints, Domain, Inputs, Outputs
        from bofire.data_models.features.api import ContinuousInput, ContinuousOutput
        from bofire.data_models.objectives.api import MaximizeObjective, MinimizeObjective
        from bofire.data_models.strategies.api import RandomStrategy, SoboStrategy
        from bofire.strategies.api import map as strategy_of

        objective = MinimizeObjective() if problem["minimize"] else MaximizeObjective()
        domain = Domain(
            inputs=Inputs(
                features=[
                    ContinuousInput(key=p["name"], bounds=(p["lower"], p["upper"]))
                    for p in problem["parameters"]
                ]
            ),
            outputs=Outputs(features=[ContinuousOutput(key="y", objective=objective)]),
            constraints=Constraints(
                constraints=[
                    LinearInequalityConstraint(
                        features=list(c["coefficients"]),
                        coefficients=list(c["coefficients"].values()),
                        rhs=c["bound"],
                    )
                    for c in problem["constraints"]
                ]
            ),
        )
        self.names = [p["name"] for p in problem["parameters"]]
        self.initial = problem["initial"]
        self.random = strategy_of(RandomStrategy(domain=domain, seed=problem["seed"]))
        self.model = strategy_of(SoboStrategy(domain=domain, seed=problem["seed"]))
        self.told = 0

    def ask(self, n: int) -> list[dict[str, float]]:
        chosen = self.model if self.told >= self.initial else self.random
        frame = chosen.ask(n)
        return [{k: float(row[k]) for k in self.names} for _, row in frame.iterrows()]

    def tell(self, results: list[tuple[dict[str, float], float]]) -> None:
        frame = pd.DataFrame([{**point, "y": y, "valid_y": 1} for point, y in results])
        self.model.tell(frame)
        self.told += len(results)


def main() -> None:
    problem = json.loads(sys.stdin.readline())
    kinds: dict[str, type[BayBE | BoFire]] = {"baybe": BayBE, "bofire": BoFire}
    planner = kinds[problem["planner"]](problem)
    for line in sys.stdin:
        request = json.loads(line)
        if "ask" in request:
            answer: Any = planner.ask(int(request["ask"]))
        else:
            planner.tell([(point, float(y)) for point, y in request["tell"]])
            answer = {}
        print("@@ " + json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
