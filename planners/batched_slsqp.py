"""SLSQP's restarts optimised each on its own, their acquisition values computed together.

Under linear constraints BoTorch optimises an acquisition with SciPy's SLSQP, which
solves one problem at a time: its restarts are stacked into one problem whose iterations
go on until all of them have converged together (a median of 85 iterations for five
restarts on the demo problem at 200 observations, against 22 for each restart alone).
Yet one evaluation costs about as much for five points as for one (Python's overhead,
not arithmetic: 5-7 ms either way on 2 cores). So here each restart is an SLSQP of its
own, in a thread of its own, and each round of points asked for by the restarts still
running is evaluated as one batch: as many rounds as the slowest restart takes, each
restart stopped by its own convergence, as BoTorch's batched L-BFGS-B does without
constraints. A round's batch holds the same restarts run after run, so proposals repeat.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.generation.gen import gen_candidates_scipy


class _Rounds:
    """Collects one point from each restart still running, then evaluates them together.

    Args:
        acquisition: the acquisition function (its batch's rows are independent).
        restarts: how many restarts run.
    """

    def __init__(self, acquisition: Any, restarts: int) -> None:
        self._acquisition = acquisition
        self._running = set(range(restarts))
        self._asked: dict[int, torch.Tensor] = {}
        self._answers: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._error: BaseException | None = None
        self._changed = threading.Condition()

    def evaluate(self, restart: int, X: torch.Tensor) -> torch.Tensor:
        """The acquisition at ``X`` (one restart's ``1 x q x d`` point), with its
        gradient as if computed here, once every restart still running has asked."""
        with self._changed:
            self._asked[restart] = X.detach()
            self._evaluate_if_all_asked()
            self._changed.wait_for(lambda: restart in self._answers or self._error is not None)
            if self._error is not None:
                raise self._error
            value, gradient = self._answers.pop(restart)
        # the value, and through ``X`` the gradient, of the batch's evaluation
        return value + ((X - X.detach()) * gradient).sum(dim=(-2, -1))

    def leave(self, restart: int) -> None:
        """``restart`` has finished: the others' rounds no longer wait for it."""
        with self._changed:
            self._running.discard(restart)
            self._evaluate_if_all_asked()

    def _evaluate_if_all_asked(self) -> None:
        if not self._asked or set(self._asked) != self._running:
            return
        order = sorted(self._asked)
        X = torch.cat([self._asked.pop(i) for i in order]).requires_grad_(True)
        try:
            with torch.enable_grad():
                values = self._acquisition(X)
                (gradients,) = torch.autograd.grad(values.sum(), X)
        except BaseException as err:  # every restart waiting is told
            self._error = err
        else:
            for row, i in enumerate(order):
                self._answers[i] = (values[row : row + 1].detach(), gradients[row : row + 1])
        self._changed.notify_all()


def gen_candidates_batched(
    initial_conditions: torch.Tensor,
    acquisition_function: AcquisitionFunction,
    lower_bounds: Any = None,
    upper_bounds: Any = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BoTorch's ``gen_candidates_scipy`` (same arguments and answer), each restart (a row
    of ``initial_conditions``) its own problem, the evaluations batched (see the module).
    With fixed features or nonlinear constraints, or one restart, it is BoTorch's own."""
    restarts = initial_conditions.shape[0]
    if (
        restarts == 1
        or kwargs.get("fixed_features")
        or kwargs.get("nonlinear_inequality_constraints")
    ):
        return gen_candidates_scipy(
            initial_conditions, acquisition_function, lower_bounds, upper_bounds, **kwargs
        )
    options = {
        **(kwargs.pop("options", None) or {}),
        "max_optimization_problem_aggregation_size": 1,
    }
    rounds = _Rounds(acquisition_function, restarts)

    def restart(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        member: Any = partial(rounds.evaluate, i)  # stands in for the acquisition
        try:
            return gen_candidates_scipy(
                initial_conditions[i : i + 1],
                member,
                lower_bounds,
                upper_bounds,
                options=options,
                **kwargs,
            )
        finally:
            rounds.leave(i)

    with ThreadPoolExecutor(restarts, thread_name_prefix="slsqp-restart") as pool:
        found = list(pool.map(restart, range(restarts)))
    return torch.cat([c for c, _ in found]), torch.cat([v for _, v in found])
