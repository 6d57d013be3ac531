"""The Ax planner's acquisition: Ax's own, optimised over the bounds first under linear
constraints (:mod:`planners.box_first`), given to Ax's generator by class, as Ax takes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from ax.generators.torch.botorch_modular.acquisition import Acquisition

from planners.batched_slsqp import gen_candidates_batched
from planners.box_first import Constraint, box_first, satisfied, strictly_inside


class BoxFirstAcquisition(Acquisition):
    """Ax's acquisition, optimised over its bounds first where the space has linear
    inequality constraints and only continuous parameters (see the module), and no trial
    is pending: around the pending trials the acquisition's best point moves out to the
    box's unexplored corners, which a constraint cuts off (the box's optimum broke it in
    all eight proposals of a batch at 200 observations, against half or fewer one at a
    time), so there the constrained optimisation runs at once."""

    def optimize(  # type: ignore[override]
        self,
        n: int,
        search_space_digest: Any,
        inequality_constraints: list[Constraint] | None = None,
        equality_constraints: list[Constraint] | None = None,
        fixed_features: dict[int, float] | None = None,
        rounding_func: Callable[[torch.Tensor], torch.Tensor] | None = None,
        optimizer_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        bounds = torch.tensor(search_space_digest.bounds, dtype=torch.double).T

        def inside(X: torch.Tensor) -> torch.Tensor:
            X = rounding_func(X) if rounding_func is not None else X
            return strictly_inside(X, inequality_constraints or [], bounds.to(X))

        def optimise(constrained: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            options = dict(optimizer_options or {})
            if constrained:  # SLSQP's restarts each on its own, evaluated together
                options["gen_candidates"] = gen_candidates_batched
            else:  # the walk's options are for the polytope alone
                options.pop("options", None)
            return super(BoxFirstAcquisition, self).optimize(
                n,
                search_space_digest,
                inequality_constraints=inequality_constraints if constrained else None,
                equality_constraints=equality_constraints,
                fixed_features=fixed_features,
                rounding_func=inside if constrained and inequality_constraints else rounding_func,
                optimizer_options=options,
                **kwargs,
            )

        box_may_do = not (
            equality_constraints
            or search_space_digest.discrete_choices
            or self.X_pending is not None
            or any(v is not None for v in kwargs.values())
        )
        if not (inequality_constraints and box_may_do):
            return optimise(True)
        constraints = inequality_constraints
        return box_first(optimise, lambda found: satisfied(found, constraints))


def register_with_ax() -> None:
    """Tell Ax how to save :class:`BoxFirstAcquisition` in its JSON."""
    from ax.storage.botorch_modular_registry import register_acquisition

    register_acquisition(BoxFirstAcquisition)
