"""Planners: propose the next experiments from what has been measured."""

from planners.ax_planner import AxPlanner
from planners.base import (
    InfeasibleSpaceError,
    LinearConstraint,
    Objective,
    Observation,
    Parameter,
    Planner,
    PlannerError,
    SearchSpace,
    Suggestion,
    UnknownTrialError,
)
from planners.baselines import RandomPlanner, SobolPlanner
from planners.objectives import (
    AbsorbanceAt,
    Measurement,
    ObjectiveFunction,
    SpectralDistance,
    TotalVolume,
)

PLANNERS: dict[str, type[Planner]] = {
    "ax": AxPlanner,
    "sobol": SobolPlanner,
    "random": RandomPlanner,
}

__all__ = [
    "PLANNERS",
    "AbsorbanceAt",
    "AxPlanner",
    "InfeasibleSpaceError",
    "LinearConstraint",
    "Measurement",
    "Objective",
    "ObjectiveFunction",
    "Observation",
    "Parameter",
    "Planner",
    "PlannerError",
    "RandomPlanner",
    "SearchSpace",
    "SobolPlanner",
    "SpectralDistance",
    "Suggestion",
    "TotalVolume",
    "UnknownTrialError",
]
