"""SLSQP's restarts each on its own with their evaluations batched: the same optima as
BoTorch's stacked problem, in fewer evaluations, inside the constraint, the same run after
run, and an acquisition's error reaches the caller instead of leaving restarts waiting."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.fit import fit_gpytorch_mll
from botorch.generation.gen import gen_candidates_scipy
from botorch.models import SingleTaskGP
from botorch.models.transforms import Standardize
from botorch.optim.initializers import gen_batch_initial_conditions
from botorch.test_functions import Hartmann
from gpytorch.mlls import ExactMarginalLogLikelihood

from planners.batched_slsqp import gen_candidates_batched

#: x0 + x1 <= 0.8, as BoTorch writes it: -x0 - x1 >= -0.8
CONSTRAINT = [(torch.tensor([0, 1]), torch.tensor([-1.0, -1.0], dtype=torch.double), -0.8)]
BOUNDS = torch.tensor([[0.0] * 4, [1.0] * 4], dtype=torch.double)


class Counting:
    """The acquisition, counting its calls and the points evaluated."""

    def __init__(self, acquisition: Any) -> None:
        self.acquisition = acquisition
        self.calls = 0

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        result: torch.Tensor = self.acquisition(X)
        return result


@pytest.fixture(scope="module")
def acquisition() -> Any:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(30, 4, generator=generator, dtype=torch.double)
    rest = torch.full((30, 2), 0.5, dtype=torch.double)
    y = -Hartmann(dim=6)(torch.cat([x, rest], -1)).unsqueeze(-1)
    model = SingleTaskGP(x, y, outcome_transform=Standardize(1))
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    return qLogNoisyExpectedImprovement(model, x, prune_baseline=True)


def _starts(acquisition: Any, restarts: int = 5) -> torch.Tensor:
    torch.manual_seed(1)
    return gen_batch_initial_conditions(
        acquisition,
        BOUNDS,
        q=1,
        num_restarts=restarts,
        raw_samples=128,
        inequality_constraints=CONSTRAINT,
    )


def _generate(how: Any, acquisition: Any, starts: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(
        how(
            starts,
            acquisition,
            lower_bounds=BOUNDS[0],
            upper_bounds=BOUNDS[1],
            inequality_constraints=CONSTRAINT,
            options={"max_optimization_problem_aggregation_size": 5},
        )
    )


def test_each_restart_converges_on_its_own_in_fewer_evaluations(acquisition):
    starts = _starts(acquisition)
    stacked, batched = Counting(acquisition), Counting(acquisition)
    _, stacked_values = _generate(gen_candidates_scipy, stacked, starts)
    candidates, values = _generate(gen_candidates_batched, batched, starts)
    assert candidates.shape == starts.shape and values.shape == (5,)
    assert (candidates[..., 0] + candidates[..., 1] <= 0.8 + 1e-6).all()
    assert ((candidates >= 0) & (candidates <= 1)).all()
    # each row is its own restart's optimum: at least as good as where it started
    with torch.no_grad():
        assert (values >= acquisition(starts) - 1e-9).all()
    assert float(values.max()) >= float(stacked_values.max()) - 1e-3
    assert batched.calls < stacked.calls, (batched.calls, stacked.calls)


def test_the_same_candidates_run_after_run(acquisition):
    starts = _starts(acquisition)
    first, _ = _generate(gen_candidates_batched, acquisition, starts)
    again, _ = _generate(gen_candidates_batched, acquisition, starts)
    assert torch.equal(first, again)


def test_an_acquisition_that_fails_fails_the_call_and_leaves_no_restart_waiting(acquisition):
    starts = _starts(acquisition)
    calls = 0

    def failing(X: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the model's matrix is not positive definite")
        result: torch.Tensor = acquisition(X)
        return result

    with pytest.raises(RuntimeError, match="not positive definite"):
        _generate(gen_candidates_batched, failing, starts)


def test_one_restart_is_botorchs_own_problem(acquisition):
    starts = _starts(acquisition, restarts=1)
    ours, _ = _generate(gen_candidates_batched, acquisition, starts)
    botorch, _ = _generate(gen_candidates_scipy, acquisition, starts)
    assert torch.equal(ours, botorch)
