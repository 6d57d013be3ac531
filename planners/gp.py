"""The planners' Gaussian process: BoTorch's ``SingleTaskGP``, fitted to the tolerance a
proposal needs.

BoTorch fits a GP's hyperparameters by L-BFGS-B on the marginal likelihood, to scipy's
default tolerance (a relative gain per iteration of 2e-9). At 500 observations those
last digits are most of the fit (on the demo problem about 3 s of a 6 s proposal; at
1e-6 about 1 s), and they do not move what the model proposes: the regret guard's
Branin seeds and the efficiency bench end where they did (docs/benchmarks.md). Ax fits
its models with no options to give, so the tolerance travels with the model class
(BoTorch's ``custom_fit`` hook).
"""

from __future__ import annotations

from typing import Any

from botorch.models import SingleTaskGP
from gpytorch.mlls import MarginalLogLikelihood

#: L-BFGS-B's options for the fit: stop once an iteration gains less than this share
FIT_OPTIONS: dict[str, Any] = {"ftol": 1e-6}


class LabGP(SingleTaskGP):
    """BoTorch's ``SingleTaskGP``, fitted with :data:`FIT_OPTIONS` by
    ``botorch.fit.fit_gpytorch_mll`` (as Ax fits it)."""

    def custom_fit(
        self,
        mll: MarginalLogLikelihood,
        optimizer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> MarginalLogLikelihood:
        # the fallback is the routine fit_gpytorch_mll itself runs for an exact GP: its
        # retries on a failed Cholesky and its warnings stay as they are
        from botorch.fit import _fit_fallback

        options = dict(FIT_OPTIONS)
        if self._aug_batch_shape.numel() > 1:
            # several outputs are fitted side by side by BoTorch's batched L-BFGS-B, which
            # refuses ftol beside its default factr (scipy's minimize knows no factr)
            options["factr"] = None
        given = dict(optimizer_kwargs or {})
        given["options"] = {**options, **given.get("options", {})}
        fitted: MarginalLogLikelihood = _fit_fallback(mll, optimizer_kwargs=given, **kwargs)
        return fitted


def register_with_ax() -> None:
    """Tell Ax how to save :class:`LabGP` in its JSON (done where a planner is made)."""
    from ax.storage.botorch_modular_registry import register_model

    register_model(LabGP)


def surrogate_spec() -> Any:
    """Ax's surrogate for a space of numbers: :class:`LabGP` where Ax would pick
    ``SingleTaskGP`` (a space with choices keeps Ax's own, or
    :func:`planners.descriptors.surrogate_spec`)."""
    from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
    from ax.generators.torch.botorch_modular.utils import ModelConfig

    register_with_ax()
    return SurrogateSpec(model_configs=[ModelConfig(botorch_model_class=LabGP)])
