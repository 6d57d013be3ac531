"""Bayesian optimisation with Ax's ``Client`` over BoTorch.

:class:`AxPlanner` is Ax's own modular BoTorch model and acquisition (a GP with
log-noisy-expected-improvement), run with an acquisition optimiser sized for a lab's
small problems; :class:`AxDefaultPlanner` is Ax exactly as it comes, kept as the
reference our benchmarks compare against (``bench/planner_latency.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planners import ax_console
from planners.base import (
    AnyParameter,
    ChoiceParameter,
    DiscreteParameter,
    Observation,
    Parameter,
    ParameterValue,
    Planner,
    PlannerError,
    SearchSpace,
    Suggestion,
)

#: The acquisition optimiser's effort per proposal. Ax's defaults (20 restarts from 1,024
#: raw samples, and with linear constraints raw samples drawn by a hit-and-run walk with
#: 10,000 burn-in steps thinned by 32) cost 4-6 s per proposal on 2 cores, over 80% of it
#: in that walk and in SLSQP over 20 restarts; regret on our benchmark problems is the
#: same with 5 restarts (one SLSQP batch of Ax's) from 256 samples and a short walk
#: (docs/benchmarks.md: 5 and 8 restarts over 10 seeds on one day).
OPTIMIZER_KWARGS: dict[str, Any] = {"num_restarts": 5, "raw_samples": 256}
#: Under linear constraints only: the short walk, and SLSQP's tolerance on the log
#: acquisition (1e-3: the optima found were lower by 2e-4 at most, 12% less time than
#: SciPy's 1e-6). Not given without constraints: BoTorch hands options it does not know
#: as its initialiser's on to SciPy, and ``n_thinning`` there turns off its batched
#: L-BFGS-B (each restart its own problem) for one problem of all restarts stacked, which
#: takes more steps (the unconstrained proposals were slower than Ax's own); the spectral
#: planner's constrained optimisation takes the same options
CONSTRAINED_OPTIONS: dict[str, Any] = {"n_burnin": 200, "n_thinning": 4, "ftol": 1e-3}
#: The same for a space with more combinations of choices and discrete values than
#: BoTorch enumerates: its mixed-alternating optimiser, which draws no hit-and-run walk
#: (and takes none of the walk's options)
MIXED_OPTIMIZER_KWARGS: dict[str, Any] = {"num_restarts": 8, "raw_samples": 256}


def _import_client() -> Any:
    from ax.api.client import Client

    ax_console.apply()  # the level an application asked for, if it did
    return Client


@dataclass
class AxPlanner(Planner):
    """Center + Sobol initialisation, then a GP model with Ax's default acquisition.

    ``initialization_trials`` sets how many space-filling trials (the centre first) come
    before the model: three by default, which took fewer trials to come near the optimum
    than six on Branin, Hartmann6 and SnAr alike (docs/benchmarks.md).
    """

    initialization_trials: int = 3
    #: model the choices that have descriptors by them (else, like the others, by a
    #: categorical kernel that knows only same or different)
    descriptors: bool = True
    name: str = field(init=False, default="ax")
    _client: Any = field(init=False, default=None)
    _first_proposal: bool = field(init=False, default=True)
    #: names this planner's last model, for the next fit to start from (warm_start.py)
    _fits: str = field(init=False, default_factory=lambda: uuid.uuid4().hex)

    @property
    def _min_measured(self) -> int:
        """Measured trials the model waits for (Ax's rule: half the space-filling ones)."""
        return max(1, self.initialization_trials // 2)

    def __post_init__(self) -> None:
        client_class = _import_client()
        self._client = client_class(random_seed=self.seed)
        self._client.configure_experiment(
            parameters=[_ax_parameter(p) for p in self.space.parameters],
            parameter_constraints=[str(c).replace("*", " * ") for c in self.space.constraints],
        )
        sign = {True: "-", False: ""}
        self._client.configure_optimization(
            objective=", ".join(f"{sign[o.minimize]}{o.name}" for o in self.objectives),
            outcome_constraints=[str(c) for c in self.outcome_constraints] or None,
        )
        self._configure_generation()

    def _configure_generation(self, initialised: bool = False) -> None:
        described = [
            p for p in self.space.parameters if isinstance(p, ChoiceParameter) and p.descriptors
        ]
        self._client.set_generation_strategy(
            _generation_strategy(
                self.seed,
                self.initialization_trials,
                len(self.objectives) > 1,
                initialised,
                self.space,
                described if self.descriptors else [],
                self._fits,
            )
        )

    def _propose(self, n: int) -> list[Suggestion]:
        if self._first_proposal:
            # resumed with the space-filling phase behind it: the model from the first
            # proposal on (Ax would leave its Sobol phase only one proposal late)
            self._first_proposal = False
            measured = sum(o.outcomes is not None for o in self.history.values())
            trials = len(self.history) + len(self.pending)
            if trials >= self.initialization_trials and measured >= self._min_measured:
                self._configure_generation(initialised=True)
        try:
            trials = self._client.get_next_trials(max_trials=n)
        except Exception as err:  # Ax raises many types; name the planner, keep the cause
            raise PlannerError(f"ax could not propose trials: {err}") from err
        nodes = self._client.summarize(trial_indices=list(trials))["generation_node"]
        out = []
        for (index, values), node in zip(trials.items(), nodes, strict=True):
            params = {p.name: p.value(values[p.name]) for p in self.space.parameters}
            out.append(Suggestion(index, params, f"ax:{node}"))
            if node == "MBM":
                self.best_rule = "model"  # from now on the model has a say in the best
        if any(s.generator == "ax:MBM" for s in out):
            self._note_predictions(out)
        return out

    def _note_predictions(self, suggestions: list[Suggestion]) -> None:
        """The model's estimate at each proposal, kept with it as provenance (the
        proposal stands without it if the model cannot give one)."""
        try:
            predictions = self.predict([s.parameters for s in suggestions])
        except PlannerError as err:
            for s in suggestions:
                s.details["prediction_error"] = str(err)
            return
        for s, predicted in zip(suggestions, predictions, strict=True):
            s.details["prediction"] = {k: {"mean": m, "sem": e} for k, (m, e) in predicted.items()}

    def _best(self) -> list[Observation]:
        """The trial Ax's model estimates best (or, for several objectives, the trials on
        its estimated Pareto front), among those meeting the outcome constraints; by the
        measured values while there is no model yet (see docs/planners.md)."""
        if self.best_rule != "model":
            return super()._best()
        try:
            if len(self.objectives) > 1:
                front = self._client.get_pareto_frontier(use_model_predictions=True)
                chosen = [trial for _, _, trial, _ in front]
            else:
                chosen = [self._client.get_best_parameterization(use_model_predictions=True)[2]]
        except Exception:  # no completed trial yet, or no model: what was measured decides
            return super()._best()
        return [self.history[i] for i in dict.fromkeys(chosen) if i in self.history]

    def summary(self) -> Any:
        """Ax's trial summary (a pandas DataFrame: one row per trial, with its status,
        generator, parameters and measured outcomes)."""
        with self._lock:
            return self._client.summarize()

    def save(self, path: Path) -> None:
        """Ax's own record of the experiment and its generation strategy, as JSON
        (``ax.api.client.Client.load_from_json_file`` reads it back).

        Args:
            path: the file to write.
        """
        with self._lock:
            self._client.save_to_json_file(filepath=str(path))

    def predict(
        self, points: list[dict[str, ParameterValue]]
    ) -> list[dict[str, tuple[float, float]]]:
        """The model's estimate at each point: outcome name -> (mean, standard error).

        Args:
            points: parameter values with their units (a choice by its name), one
                mapping per point.
        """
        values = [self.space.magnitudes(p) for p in points]
        try:
            with self._lock:
                predicted: list[dict[str, tuple[float, float]]] = self._client.predict(
                    points=values
                )
        except Exception as err:
            raise PlannerError(f"ax cannot predict yet: {err}") from err
        return predicted

    def _attach(self, parameters: dict[str, ParameterValue]) -> int:
        values = self.space.magnitudes(parameters)
        index: int = self._client.attach_trial(parameters=values)
        return index

    def _abandon(self, index: int) -> None:
        self._client.mark_trial_abandoned(index)

    def _observe(self, observation: Observation) -> None:
        if observation.outcomes is None:
            self._client.mark_trial_failed(observation.index, failed_reason=observation.reason)
        else:
            self._client.complete_trial(observation.index, raw_data=observation.outcomes)


@dataclass
class AxDefaultPlanner(AxPlanner):
    """Ax's ``Client`` with its own default generation strategy ("fast"), untuned: the
    reference our planner is measured against."""

    name: str = field(init=False, default="ax-default")

    def _configure_generation(self, initialised: bool = False) -> None:
        if initialised:
            return  # as it comes: Ax's own phases, whatever was replayed
        self._client.configure_generation_strategy(
            method="fast",
            initialization_budget=self.initialization_trials,
            initialization_random_seed=self.seed,
        )


def _ax_parameter(p: AnyParameter) -> Any:
    """Ax's configuration of one parameter: a range, an ordered choice of numbers, or an
    unordered choice of names (in their order, which :mod:`planners.descriptors` relies on)."""
    from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

    if isinstance(p, ChoiceParameter):
        return ChoiceParameterConfig(
            name=p.name, values=list(p.choices), parameter_type="str", is_ordered=False
        )
    if isinstance(p, DiscreteParameter):
        return ChoiceParameterConfig(
            name=p.name, values=list(p.values), parameter_type="float", is_ordered=True
        )
    return RangeParameterConfig(name=p.name, bounds=(p.lower, p.upper), parameter_type="float")


def _alternating(space: SearchSpace) -> bool:
    """Whether BoTorch optimises this space's choices by alternating discrete and
    continuous steps (many combinations) rather than trying each (few), as Ax decides."""
    from botorch.optim.optimize_mixed import should_use_mixed_alternating_optimizer

    levels = {
        i: list(range(len(p.choices))) if isinstance(p, ChoiceParameter) else list(p.values)
        for i, p in enumerate(space.parameters)
        if not isinstance(p, Parameter)
    }
    return bool(should_use_mixed_alternating_optimizer(discrete_dims=levels))


def _generation_strategy(
    seed: int,
    initialization_trials: int,
    several_objectives: bool,
    initialised: bool,
    space: SearchSpace,
    described: list[ChoiceParameter],
    fits: str,
) -> Any:
    """Ax's "fast" strategy (centre, Sobol, then the modular BoTorch model; only the model
    once ``initialised``), with the
    acquisition optimiser of :data:`OPTIMIZER_KWARGS`, over the bounds first under linear
    constraints (:mod:`planners.box_first`); for several objectives, ParEGO's
    random scalarisations (qLogNParEGO) instead of Ax's default hypervolume improvement,
    which costs 5-10x as much per proposal (docs/benchmarks.md). A space with choices or
    discrete values keeps its choices as choices (Ax's ``Mixed_transforms``: a categorical
    kernel); choices with descriptors (``described``) are modelled by them
    (:mod:`planners.descriptors`). A single objective over numbers is fitted from its last
    fit (``fits`` names the planner's) once there are many points
    (:mod:`planners.warm_start`)."""
    from ax.adapter.registry import Generators, Mixed_transforms, Y_trans
    from ax.core.trial_status import TrialStatus
    from ax.generation_strategy.center_generation_node import CenterGenerationNode
    from ax.generation_strategy.generation_strategy import GenerationNode, GenerationStrategy
    from ax.generation_strategy.generator_spec import GeneratorSpec
    from ax.generation_strategy.transition_criterion import MinTrials
    from botorch.acquisition.multi_objective.parego import qLogNParEGO

    sobol = GenerationNode(
        name="Sobol",
        generator_specs=[
            GeneratorSpec(generator_enum=Generators.SOBOL, generator_kwargs={"seed": seed})
        ],
        transition_criteria=[
            MinTrials(  # the centre counts towards the budget
                threshold=initialization_trials,
                transition_to="MBM",
                use_all_trials_in_exp=True,
                not_in_statuses=[TrialStatus.FAILED, TrialStatus.ABANDONED],
            ),
            MinTrials(  # a model needs data: wait for some of them to be measured
                threshold=max(1, initialization_trials // 2),  # as AxPlanner._min_measured
                transition_to="MBM",
                use_all_trials_in_exp=True,
                only_in_statuses=[TrialStatus.COMPLETED],
                count_only_trials_with_data=True,
            ),
        ],
        should_deduplicate=True,
    )
    generator_kwargs: dict[str, Any] = {}
    mixed = not space.continuous
    alternating = mixed and _alternating(space)
    # a mixed space's optimiser (BoTorch's mixed-alternating) draws no hit-and-run walk
    optimizer = MIXED_OPTIMIZER_KWARGS if alternating else OPTIMIZER_KWARGS
    if space.constraints and not alternating:
        optimizer = {**optimizer, "options": CONSTRAINED_OPTIONS}
    if space.constraints and space.continuous:
        from planners.ax_acquisition import BoxFirstAcquisition, register_with_ax

        register_with_ax()
        generator_kwargs["acquisition_class"] = BoxFirstAcquisition
    if several_objectives:
        generator_kwargs["botorch_acqf_class"] = qLogNParEGO
    if mixed:
        # choices stay choices (no one-hot relaxed to a continuum and rounded after): a
        # categorical kernel, and an acquisition optimiser that tries real choices
        generator_kwargs["transforms"] = [*Mixed_transforms, *Y_trans]
    if described:
        from planners.descriptors import surrogate_spec

        generator_kwargs["surrogate_spec"] = surrogate_spec(described)
    elif not (mixed or several_objectives):
        from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
        from ax.generators.torch.botorch_modular.utils import ModelConfig

        from planners.warm_start import WarmStartMLL, register_with_ax

        register_with_ax()
        warm = ModelConfig(mll_class=WarmStartMLL, mll_options={"warm_start": fits})
        generator_kwargs["surrogate_spec"] = SurrogateSpec(model_configs=[warm])
    model = GenerationNode(
        name="MBM",
        generator_specs=[
            GeneratorSpec(
                generator_enum=Generators.BOTORCH_MODULAR,
                generator_kwargs=generator_kwargs,
                generator_gen_kwargs={"model_gen_options": {"optimizer_kwargs": optimizer}},
            )
        ],
        should_deduplicate=True,
    )
    if initialised:
        return GenerationStrategy(name="MBM:lab", nodes=[model])
    return GenerationStrategy(
        name="Center+Sobol+MBM:lab",
        nodes=[
            CenterGenerationNode(
                next_node_name="Sobol", use_existing_trials_for_initialization=True
            ),
            sobol,
            model,
        ],
    )
