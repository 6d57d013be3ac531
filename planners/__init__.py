"""Planners: propose the next experiments from what has been measured.

The planners themselves (Ax with torch, the baselines with scipy) are imported when first
used, so that reading a campaign file does not load a machine-learning stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from planners.ax_console import set_ax_console_level
from planners.base import (
    AnyParameter,
    ChoiceParameter,
    DiscreteParameter,
    InfeasibleSpaceError,
    LinearConstraint,
    Objective,
    Observation,
    OutcomeConstraint,
    Parameter,
    ParameterValue,
    Planner,
    PlannerError,
    SearchSpace,
    Suggestion,
    UnknownTrialError,
)
from planners.objectives import (
    AbsorbanceAt,
    MaxAbsorbance,
    MeasuredValue,
    Measurement,
    ObjectiveFunction,
    SpectralDistance,
    TotalVolume,
)

if TYPE_CHECKING:
    from planners.ax_planner import AxDefaultPlanner, AxPlanner
    from planners.baselines import RandomPlanner, SobolPlanner
    from planners.spectral import SpectralPlanner

#: planner name -> (module, class)
_PLANNERS = {
    "ax": ("planners.ax_planner", "AxPlanner"),
    "ax-default": ("planners.ax_planner", "AxDefaultPlanner"),
    "sobol": ("planners.baselines", "SobolPlanner"),
    "random": ("planners.baselines", "RandomPlanner"),
    "spectral": ("planners.spectral", "SpectralPlanner"),
}
#: the names a campaign file or ``--planner`` may choose
PLANNER_NAMES = tuple(_PLANNERS)


def planner_class(name: str) -> type[Planner]:
    """The planner class called ``name`` (one of :data:`PLANNER_NAMES`), imported now."""
    module, cls = _PLANNERS[name]
    found: type[Planner] = getattr(importlib.import_module(module), cls)
    return found


def __getattr__(name: str) -> Any:
    for module, cls in _PLANNERS.values():
        if name == cls:
            return getattr(importlib.import_module(module), cls)
    raise AttributeError(f"module 'planners' has no attribute {name!r}")


__all__ = [
    "PLANNER_NAMES",
    "AbsorbanceAt",
    "AnyParameter",
    "AxDefaultPlanner",
    "AxPlanner",
    "ChoiceParameter",
    "DiscreteParameter",
    "InfeasibleSpaceError",
    "LinearConstraint",
    "MaxAbsorbance",
    "MeasuredValue",
    "Measurement",
    "Objective",
    "ObjectiveFunction",
    "Observation",
    "OutcomeConstraint",
    "Parameter",
    "ParameterValue",
    "Planner",
    "PlannerError",
    "RandomPlanner",
    "SearchSpace",
    "SobolPlanner",
    "SpectralDistance",
    "SpectralPlanner",
    "Suggestion",
    "TotalVolume",
    "UnknownTrialError",
    "planner_class",
    "set_ax_console_level",
]
