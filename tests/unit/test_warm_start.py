"""The GP's fit from the last fit's hyperparameters: as good a fit in far fewer steps
with many points, and none below the threshold, where it could keep a worse optimum."""

from __future__ import annotations

import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms import Standardize
from botorch.test_functions import Hartmann

from planners.warm_start import WARM_FROM, WarmStartMLL


def _data(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, 4, generator=generator, dtype=torch.double)
    rest = torch.full((n, 2), 0.5, dtype=torch.double)
    return x, -Hartmann(dim=6)(torch.cat([x, rest], -1)).unsqueeze(-1)


def _fit(n: int, key: str) -> tuple[SingleTaskGP, int, float]:
    """A fresh model on the first ``n`` points, fitted: the model, L-BFGS-B's steps and
    the log likelihood it reached."""
    x, y = _data(n)
    model = SingleTaskGP(x, y, outcome_transform=Standardize(1))
    mll = WarmStartMLL(model.likelihood, model, warm_start=key)
    steps: list[int] = []
    fit_gpytorch_mll(mll, optimizer_kwargs={"callback": lambda _, r: steps.append(r.step)})
    with torch.no_grad():
        model.train()
        value = float(mll(model(*model.train_inputs), model.train_targets))
    return model, len(steps), value


def test_with_many_points_a_fit_starts_where_the_last_ended_and_gets_as_far():
    n = WARM_FROM + 50
    first, _, _ = _fit(n, "warm")
    _, cold_steps, cold = _fit(n + 1, "")  # from Ax's initial hyperparameters
    x, y = _data(n + 1)
    model = SingleTaskGP(x, y, outcome_transform=Standardize(1))
    WarmStartMLL(model.likelihood, model, warm_start="warm")
    lengthscale = model.covar_module.lengthscale  # starts at the last fit's
    assert torch.allclose(lengthscale, first.covar_module.lengthscale)
    assert torch.allclose(model.outcome_transform.means, y.mean(), atol=1e-9)  # its own data's
    _, warm_steps, warm = _fit(n + 1, "warm")
    assert warm >= cold - 1e-3
    assert warm_steps * 3 < cold_steps, (warm_steps, cold_steps)


def test_with_few_points_every_fit_starts_afresh():
    first, _, _ = _fit(20, "few")
    x, y = _data(21)
    model = SingleTaskGP(x, y, outcome_transform=Standardize(1))
    fresh = model.covar_module.lengthscale.clone()
    WarmStartMLL(model.likelihood, model, warm_start="few")
    assert torch.equal(model.covar_module.lengthscale, fresh)
    assert not torch.allclose(fresh, first.covar_module.lengthscale)
