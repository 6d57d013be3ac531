"""Under linear constraints, the acquisition optimised in the box first.

BoTorch optimises an acquisition under linear constraints with SLSQP, from starting points
drawn inside the polytope by a hit-and-run walk: several times the cost of its batched
L-BFGS-B over the bounds alone. A lab's constraint (the vial's volume, the equivalents of
a reagent) often leaves the acquisition's best point well inside it; then the optimum
over the box is the optimum under the constraints, and the constrained optimisation is
only needed when the box's optimum breaks one. Both planners optimise this way: the
spectral planner calls :func:`box_first`, the Ax planner through its acquisition
(:class:`planners.ax_acquisition.BoxFirstAcquisition`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch

#: a linear constraint as BoTorch writes it: ``sum(x[indices] * coefficients) >= rhs``
Constraint = tuple[torch.Tensor, torch.Tensor, float]


def satisfied(candidates: torch.Tensor, constraints: list[Constraint]) -> bool:
    """Every candidate (a row of ``candidates``) meets every constraint, exactly: for
    Ax's constraints, in its own transformed space, which Ax checks again with its own
    tolerance. Where the constraints are ours, :meth:`planners.base.Space.feasible`
    checks them, with the slack the optimiser needs."""
    return all(
        bool(((candidates[..., indices] * coefficients).sum(dim=-1) >= rhs).all())
        for indices, coefficients, rhs in constraints
    )


Found = TypeVar("Found", bound=tuple[Any, ...])


def box_first(optimise: Callable[[bool], Found], meets: Callable[[torch.Tensor], bool]) -> Found:
    """What ``optimise(False)`` (over the bounds alone) found if its candidates (the
    first item) ``meets`` the constraints; else what ``optimise(True)`` (under them)
    finds."""
    found = optimise(False)
    return found if meets(found[0]) else optimise(True)


#: how far inside a constraint a candidate on its boundary is moved (in Ax's unit space)
MARGIN = 1e-9


def strictly_inside(
    candidates: torch.Tensor, constraints: list[Constraint], bounds: torch.Tensor
) -> torch.Tensor:
    """``candidates`` moved just inside each constraint they touch or break (by
    :data:`MARGIN` along its normal; a coordinate at the bound it would cross stays
    there). SLSQP ends on a boundary up to 1e-10 outside it, and Ax checks pending points
    with no tolerance: such a trial was left out of the pending ones, and the next
    proposal repeated it.

    Args:
        candidates: ``... x d`` points.
        constraints: BoTorch's linear inequality constraints.
        bounds: ``2 x d``, the lower and upper bounds.
    """
    moved = candidates.clone()
    for indices, coefficients, rhs in constraints:
        part = moved[..., indices]
        lower, upper = bounds[0, indices], bounds[1, indices]
        slack = (part * coefficients).sum(dim=-1) - rhs
        free = ((coefficients > 0) & (part < upper)) | ((coefficients < 0) & (part > lower))
        direction = coefficients * free
        norm = (direction**2).sum(dim=-1)
        step = torch.where(
            (slack < MARGIN) & (norm > 0), (MARGIN - slack) / norm.clamp_min(1e-300), 0.0
        )
        moved[..., indices] = torch.minimum(
            torch.maximum(part + step.unsqueeze(-1) * direction, lower), upper
        )
    return moved
