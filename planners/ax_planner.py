"""Bayesian optimisation with Ax's ``Client`` over BoTorch."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pint
import torch

from planners.base import Planner, PlannerError, Suggestion


def _quiet_ax() -> None:
    """Ax gives each module its own INFO logger; a lab's console wants only warnings."""
    for name in list(logging.root.manager.loggerDict):
        if name == "ax" or name.startswith("ax."):
            logging.getLogger(name).setLevel(logging.WARNING)


@dataclass
class AxPlanner(Planner):
    """Center + Sobol initialisation, then a GP model with Ax's default acquisition.

    ``initialization_trials`` sets how many space-filling trials come before the model.
    """

    initialization_trials: int = 5
    name: str = field(init=False, default="ax")
    _client: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        logging.disable(logging.INFO)  # Ax announces itself at INFO while importing
        try:
            from ax.api.client import Client
            from ax.api.configs import RangeParameterConfig
        finally:
            logging.disable(logging.NOTSET)
        _quiet_ax()
        torch.set_num_threads(2)  # the lab machines have two cores; more threads only thrash
        self._client = Client(random_seed=self.seed)
        self._client.configure_experiment(
            parameters=[
                RangeParameterConfig(name=p.name, bounds=(p.lower, p.upper), parameter_type="float")
                for p in self.space.parameters
            ],
            parameter_constraints=[str(c).replace("*", " * ") for c in self.space.constraints],
        )
        sign = {True: "-", False: ""}
        self._client.configure_optimization(
            objective=", ".join(f"{sign[o.minimize]}{o.name}" for o in self.objectives)
        )
        self._client.configure_generation_strategy(
            method="fast",
            initialization_budget=self.initialization_trials,
            initialization_random_seed=self.seed,
        )

    def _propose(self, n: int) -> list[Suggestion]:
        try:
            trials = self._client.get_next_trials(max_trials=n)
        except Exception as err:  # Ax raises many types; name the planner, keep the cause
            raise PlannerError(f"ax could not propose trials: {err}") from err
        out = []
        for index, values in trials.items():
            params = {p.name: p.quantity(values[p.name]) for p in self.space.parameters}
            out.append(Suggestion(index, params, self._generator_of(index)))
        return out

    def _generator_of(self, index: int) -> str:
        trial = self._client._experiment.trials[index]
        runs = getattr(trial, "generator_runs", None) or []
        node = getattr(runs[0], "_generation_node_name", None) if runs else None
        return f"ax:{node}" if node else "ax"

    def _attach(self, parameters: dict[str, pint.Quantity]) -> int:
        values = self.space.magnitudes(parameters)
        return self._client.attach_trial(parameters=values)

    def _abandon(self, index: int) -> None:
        self._client.mark_trial_abandoned(index)

    def _observe(self, index: int, outcomes: dict[str, float] | None) -> None:
        if outcomes is None:
            self._client.mark_trial_failed(index)
        else:
            self._client.complete_trial(index, raw_data=outcomes)
