"""Composite Bayesian optimisation for objectives computed from a spectrum.

A scalar model learns only how far each spectrum was from the target; this planner
models the spectrum itself. The spectra measured so far are summarised by their
principal components (a handful of numbers carry nearly all of their variance), and a
Gaussian process for each component learns how it moves with the parameters (which band
grows with which dye, how temperature shifts the complex). The acquisition draws whole
spectra from that posterior, scores each draw with the campaign's own objective (e.g.
the RMS distance to the target), and takes the noisy expected improvement of that score:
BO of composite functions (Astudillo and Frazier, 2019), with BoTorch's qLogNEI on a
``GenericMCObjective``. Until ``initialization_trials`` trials exist it proposes the
Sobol points the ``sobol`` planner would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

# imported with the module, when the planner is made (at a campaign's start or resume),
# not at its first proposal: BoTorch's acquisitions bring in JAX, 1.8 s on 2 cores
from botorch.acquisition.logei import qLogExpectedImprovement
from botorch.acquisition.objective import GenericMCObjective
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from botorch.optim import optimize_acqf
from botorch.sampling import SobolQMCNormalSampler
from gpytorch.mlls import ExactMarginalLogLikelihood

from planners.ax_planner import CONSTRAINED_OPTIONS
from planners.base import Parameter, ParameterValue, PlannerError, Suggestion
from planners.baselines import SobolPlanner
from planners.batched_slsqp import gen_candidates_batched
from planners.box_first import Constraint, box_first
from planners.objectives import SpectrumObjective

#: the acquisition optimiser's budget, as measured in bench/spectral_planner.py (the Ax
#: planner's was 8 restarts then; it now has 5, not yet tried here)
NUM_RESTARTS, RAW_SAMPLES = 8, 256
#: quasi-Monte Carlo draws of the spectrum per candidate
MC_SAMPLES = 128


@dataclass
class SpectralPlanner(SobolPlanner):
    """Proposes by a model of the measured spectrum (see the module's description).

    Takes one objective that is a :class:`~planners.objectives.SpectrumObjective` (a
    spectral distance, an absorbance at a wavelength, the highest absorbance) and no
    outcome constraints; the same bounds and linear constraints as any planner.
    """

    initialization_trials: int = 6
    #: principal components of the spectrum modelled (fewer while there are few spectra)
    components: int = 6
    name: str = field(init=False, default="spectral")
    wants_measurements: bool = field(init=False, default=True)
    _hyperparameters: dict[str, torch.Tensor] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.objectives) != 1 or not isinstance(
            self.objectives[0].function, SpectrumObjective
        ):
            raise PlannerError(
                "spectral: needs exactly one objective computed from the spectrum "
                "(spectral_distance, absorbance_at or max_absorbance)"
            )
        if self.outcome_constraints:
            raise PlannerError("spectral: outcome constraints are not supported; use ax")
        if not self.space.continuous:
            raise PlannerError(
                "spectral: takes continuous parameters only (min and max); for choices "
                "or discrete values use ax"
            )

    @property
    def _ranges(self) -> list[Parameter]:
        """The parameters, all continuous (checked when the planner is made)."""
        return [p for p in self.space.parameters if isinstance(p, Parameter)]

    def _propose(self, n: int) -> list[Suggestion]:
        measured = [o for o in self.history.values() if o.measurement is not None]
        if self._next_index < self.initialization_trials or len(measured) < 2:
            return super()._propose(n)
        with torch.random.fork_rng():
            torch.manual_seed(self.seed * 100_003 + self._next_index)  # replayable
            unit = self._acquire(n, measured)
        out = []
        for row in unit:
            plain = self._plain(row)
            params: dict[str, ParameterValue] = {
                p.name: p.quantity(plain[p.name]) for p in self._ranges
            }
            out.append(Suggestion(self._next_index, params, "spectral:model"))
            self._next_index += 1
        return out

    # --- the model and the acquisition ----------------------------------------------------
    def _plain(self, unit: torch.Tensor) -> dict[str, float]:
        """A point of the unit cube as each parameter's number in its unit."""
        return {
            p.name: p.lower + float(u) * (p.upper - p.lower)
            for p, u in zip(self._ranges, unit, strict=True)
        }

    def _unit(self, parameters: dict[str, ParameterValue]) -> list[float]:
        return [
            (float(p.plain(parameters[p.name])) - p.lower) / (p.upper - p.lower)
            for p in self._ranges
        ]

    def _acquire(self, n: int, measured: list[Any]) -> torch.Tensor:
        wavelengths, spectra = _common_grid([o.measurement.spectrum() for o in measured])
        x = torch.tensor([self._unit(o.parameters) for o in measured], dtype=torch.double)
        y = torch.tensor(spectra, dtype=torch.double)
        mean, basis = _principal_components(y, self.components)
        scores = (y - mean) @ basis.T
        model = SingleTaskGP(x, scores, outcome_transform=Standardize(m=scores.shape[-1]))
        self._warm_start(model)
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        self._hyperparameters = {
            k: v.detach().clone()
            for k, v in model.state_dict().items()
            if not k.startswith("outcome_transform")
        }

        objective = self.objectives[0]
        function = objective.function
        assert isinstance(function, SpectrumObjective)
        sign = -1.0 if objective.minimize else 1.0

        def score(samples: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
            return sign * function.of_spectra(wavelengths, mean + samples @ basis)

        pending = [self._unit(s.parameters) for s in self.pending.values()]
        observed = torch.tensor([sign * o.outcomes[objective.name] for o in measured])
        acquisition = qLogExpectedImprovement(
            model,
            best_f=float(observed.max()),
            sampler=SobolQMCNormalSampler(sample_shape=torch.Size([MC_SAMPLES])),
            objective=GenericMCObjective(score),
            X_pending=torch.tensor(pending, dtype=torch.double) if pending else None,
        )
        return self._optimise(acquisition, n)

    def _optimise(self, acquisition: Any, n: int) -> torch.Tensor:
        """The acquisition's maximiser, over the bounds first (:mod:`planners.box_first`)."""
        d = len(self.space.parameters)
        bounds = torch.stack([torch.zeros(d), torch.ones(d)]).double()
        constraints = self._unit_constraints()

        def optimise(constrained: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
            found: tuple[torch.Tensor, torch.Tensor | None] = optimize_acqf(
                acquisition,
                bounds=bounds,
                q=n,
                num_restarts=NUM_RESTARTS,
                raw_samples=RAW_SAMPLES,
                inequality_constraints=constraints if constrained else None,
                options=dict(CONSTRAINED_OPTIONS) if constrained else None,
                gen_candidates=gen_candidates_batched if constrained else None,
            )
            return found

        candidates, _ = (
            box_first(
                optimise, lambda found: all(self.space.feasible(self._plain(r)) for r in found)
            )
            if constraints
            else optimise(False)
        )
        return candidates.detach().clamp(0.0, 1.0)

    def _warm_start(self, model: Any) -> None:
        """Start the fit from the last one's hyperparameters: one more spectrum moves them
        little, so the optimiser has little left to do (a fresh start each time is what
        makes a fit slow)."""
        if not self._hyperparameters:
            return
        current = model.state_dict()
        if all(
            current[k].shape == v.shape for k, v in self._hyperparameters.items() if k in current
        ):
            model.load_state_dict({**current, **self._hyperparameters})

    def _unit_constraints(self) -> list[Constraint]:
        """``sum(c * value) <= bound`` in the unit cube, as BoTorch writes it:
        ``sum(coefficient * x) >= rhs``."""
        index = {p.name: i for i, p in enumerate(self._ranges)}
        params = {p.name: p for p in self._ranges}
        out = []
        for c in self.space.constraints:
            names = list(c.coefficients)
            spans = [params[k].upper - params[k].lower for k in names]
            offset = sum(c.coefficients[k] * params[k].lower for k in names)
            out.append(
                (
                    torch.tensor([index[k] for k in names]),
                    torch.tensor(
                        [-c.coefficients[k] * s for k, s in zip(names, spans, strict=True)],
                        dtype=torch.double,
                    ),
                    -(c.bound - offset),
                )
            )
        return out


def _common_grid(
    spectra: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Every spectrum on the first one's wavelengths (interpolated where they differ)."""
    wavelengths = spectra[0][0]
    rows = [
        a
        if len(w) == len(wavelengths) and np.allclose(w, wavelengths)
        else np.interp(wavelengths, w, a)
        for w, a in spectra
    ]
    return wavelengths, np.vstack(rows)


def _principal_components(y: torch.Tensor, at_most: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean spectrum and the leading principal directions ``(k, wavelengths)``: as
    many as asked, fewer than the spectra, and only those with variance to speak of."""
    mean = y.mean(dim=0)
    _, singular, directions = torch.linalg.svd(y - mean, full_matrices=False)
    meaningful = int((singular > singular[0] * 1e-6).sum()) if singular.numel() else 0
    k = max(1, min(at_most, y.shape[0] - 1, meaningful))
    return mean, directions[:k]
