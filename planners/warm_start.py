"""The GP's fit started from the last fit's hyperparameters, once there are many points.

Ax fits its model from the same initial hyperparameters at every proposal. With hundreds
of observations one more point hardly moves the optimum, yet L-BFGS-B walks 80-170 steps
to it again (4 s of a proposal at 500 points on 2 cores); started from the last optimum
it takes a few. With few points the optimum still moves, and a warm start can keep the
fit in a worse one (at 10 points: a log likelihood of -1.97 against -1.52 from scratch),
so below :data:`WARM_FROM` each fit starts afresh, as Ax's does.

Ax builds the likelihood right before each fit from the class and options it is given
(``ModelConfig.mll_class``, ``mll_options``): :class:`WarmStartMLL` is that class, and
its option names the planner whose last model it starts from.
"""

from __future__ import annotations

import weakref
from typing import Any

from gpytorch.mlls import ExactMarginalLogLikelihood

#: observations from which a fit starts where the last one ended
WARM_FROM = 100
#: the parts of a model its fit learns (not its transforms, which each fit's data set)
LEARNED = ("covar_module.", "likelihood.", "mean_module.")

#: each planner's last model, by key, kept only while Ax keeps it
_last: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


class WarmStartMLL(ExactMarginalLogLikelihood):
    """Ax's exact marginal log likelihood, whose model starts from the hyperparameters of
    the planner's last model (if it has :data:`WARM_FROM` points and the same shapes).

    Args:
        likelihood: the model's likelihood.
        model: the model about to be fitted.
        warm_start: the planner's key ("" for a fit from scratch).
    """

    def __init__(self, likelihood: Any, model: Any, warm_start: str = "") -> None:
        super().__init__(likelihood, model)
        previous = _last.get(warm_start) if warm_start else None
        if previous is not None and model.train_targets.shape[-1] >= WARM_FROM:
            mine = model.state_dict()
            learned = {
                k: v
                for k, v in previous.state_dict().items()
                if k.startswith(LEARNED) and k in mine and mine[k].shape == v.shape
            }
            if len(learned) == sum(k.startswith(LEARNED) for k in mine):
                model.load_state_dict(learned, strict=False)
        if warm_start:
            _last[warm_start] = model  # fitted by the time the next fit reads it


def register_with_ax() -> None:
    """Tell Ax how to save :class:`WarmStartMLL` in its JSON."""
    from ax.storage.botorch_modular_registry import register_mll

    register_mll(WarmStartMLL)
