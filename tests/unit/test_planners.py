"""Planners: within bounds and constraints, failures kept, resumable, Pareto best."""

from __future__ import annotations

import pytest
import torch

from planners import (
    AxPlanner,
    LinearConstraint,
    Objective,
    OutcomeConstraint,
    Parameter,
    PlannerError,
    RandomPlanner,
    SearchSpace,
    SobolPlanner,
    UnknownTrialError,
)

SPACE = SearchSpace(
    [Parameter("a", "milliliter", 0.0, 2.0), Parameter("b", "milliliter", 0.0, 2.0)],
    [LinearConstraint({"a": 1.0, "b": 1.0}, 2.5)],
)
LOSS = [Objective("loss")]


def loss(values: dict[str, float]) -> float:
    return (values["a"] - 1.0) ** 2 + (values["b"] - 0.5) ** 2


def drive(planner, n: int) -> list[dict[str, float]]:
    seen = []
    for _ in range(n):
        for s in planner.ask(1):
            values = SPACE.magnitudes(s.parameters)
            seen.append(values)
            planner.tell(s.index, {"loss": loss(values)})
    return seen


@pytest.mark.parametrize("cls", [SobolPlanner, RandomPlanner])
def test_baselines_stay_feasible_and_resume_without_repeating(cls):
    straight = drive(cls(SPACE, LOSS, seed=4), 8)
    assert all(SPACE.feasible(v) for v in straight)
    assert len({tuple(v.values()) for v in straight}) == 8

    first = cls(SPACE, LOSS, seed=4)
    head = drive(first, 5)
    resumed = cls(SPACE, LOSS, seed=4)
    for values in head:  # what a store would replay
        resumed.replay(
            {k: p.quantity(values[k]) for k, p in zip("ab", SPACE.parameters, strict=True)},
            {"loss": loss(values)},
        )
    tail = drive(resumed, 3)
    assert head + tail == straight


def test_failed_trials_are_recorded_not_dropped():
    planner = SobolPlanner(SPACE, LOSS, seed=0)
    s = planner.ask(1)[0]
    planner.tell_failed(s.index, "pump jammed")
    assert planner.history[s.index].outcomes is None
    assert planner.history[s.index].reason == "pump jammed"
    with pytest.raises(UnknownTrialError):
        planner.tell(s.index, {"loss": 1.0})
    assert planner.best() == []


def test_best_is_the_pareto_front_for_several_objectives():
    planner = SobolPlanner(SPACE, [Objective("cost"), Objective("yield", minimize=False)], seed=0)
    outcomes = [{"cost": 1, "yield": 1}, {"cost": 2, "yield": 3}, {"cost": 3, "yield": 2}]
    for o in outcomes:
        s = planner.ask(1)[0]
        planner.tell(s.index, o)
    assert [o.outcomes for o in planner.best()] == outcomes[:2]  # the third is dominated


def test_a_trial_breaking_an_outcome_constraint_is_never_best():
    planner = SobolPlanner(
        SPACE, LOSS, seed=0, outcome_constraints=[OutcomeConstraint("peak", 2.0)]
    )
    s = planner.ask(1)[0]
    with pytest.raises(PlannerError, match="peak"):
        planner.tell(s.index, {"loss": 0.0})
    planner.tell(s.index, {"loss": 0.0, "peak": 2.5})  # best loss, but too high a peak
    t = planner.ask(1)[0]
    planner.tell(t.index, {"loss": 1.0, "peak": 1.5})
    assert [o.index for o in planner.best()] == [t.index]


def test_ax_finds_a_pareto_front_under_an_outcome_constraint():
    objectives = [Objective("loss"), Objective("volume")]
    planner = AxPlanner(
        SPACE,
        objectives,
        seed=0,
        initialization_trials=3,
        outcome_constraints=[OutcomeConstraint("peak", 2.0)],
    )
    for _ in range(5):
        s = planner.ask(1)[0]
        v = SPACE.magnitudes(s.parameters)
        assert SPACE.feasible(v)
        planner.tell(
            s.index, {"loss": loss(v), "volume": v["a"] + v["b"], "peak": v["a"] + 0.5 * v["b"]}
        )
    front = planner.best()
    assert front and all(o.outcomes is not None for o in front)
    assert all(o.outcomes["peak"] <= 2.0 for o in front)


def test_ax_proposes_feasible_points_and_learns():
    planner = AxPlanner(SPACE, LOSS, seed=0, initialization_trials=3)
    seen = drive(planner, 5)
    assert all(SPACE.feasible(v) for v in seen)
    gens = [o.index for o in planner.history.values()]
    assert gens == [0, 1, 2, 3, 4]
    s = planner.ask(1)[0]
    assert s.generator == "ax:MBM"
    planner.tell_failed(s.index, "spilled")
    summary = planner.summary().set_index("trial_index")
    assert summary.loc[s.index, "status_reason"] == "spilled"  # Ax hears why
    # the best is the model's choice among the measured trials, not the luckiest reading
    assert planner.best_rule == "model"
    best = planner.best()
    assert len(best) == 1 and best[0].outcomes is not None
    assert best[0].outcomes["loss"] <= sorted(loss(v) for v in seen)[1]
    (estimate,) = planner.predict([best[0].parameters])
    mean, sem = estimate["loss"]
    assert abs(mean - best[0].outcomes["loss"]) < 0.2 and sem >= 0


def test_a_resumed_ax_planner_proposes_from_its_model_at_once():
    planner = AxPlanner(SPACE, LOSS, seed=0, initialization_trials=3)
    for a, b in [(0.2, 0.2), (1.0, 1.0), (1.5, 0.3), (0.5, 1.5)]:
        values = {"a": a, "b": b}
        planner.replay(
            {k: p.quantity(values[k]) for k, p in zip("ab", SPACE.parameters, strict=True)},
            {"loss": loss(values)},
        )
    assert planner.ask(1)[0].generator == "ax:MBM"


def test_ax_resumes_from_replayed_trials():
    planner = AxPlanner(SPACE, LOSS, seed=0, initialization_trials=2)
    planner.replay(
        {"a": SPACE.parameters[0].quantity(1.0), "b": SPACE.parameters[1].quantity(1.0)},
        {"loss": 0.25},
    )
    planner.replay(
        {"a": SPACE.parameters[0].quantity(0.2), "b": SPACE.parameters[1].quantity(0.2)},
        None,
        "interrupted",
    )
    s = planner.ask(1)[0]
    assert s.index == 2
    assert SPACE.feasible(SPACE.magnitudes(s.parameters))


def test_ax_proposes_around_the_trials_still_running():
    """Asynchronous BO: a station that frees up gets a proposal that counts the trials
    still running on the others as pending, not the same point again."""
    planner = AxPlanner(SPACE, LOSS, seed=0, initialization_trials=3)
    drive(planner, 6)
    first = planner.ask(1)[0]  # running on one station, not yet told
    second = planner.ask(1)[0]  # the next station frees up
    assert first.generator == second.generator == "ax:MBM"
    assert second.details["pending"] == 1
    a, b = SPACE.magnitudes(first.parameters), SPACE.magnitudes(second.parameters)
    assert max(abs(a[k] - b[k]) for k in a) > 0.05  # not the point already running
    # the same model without the pending trial proposes (nearly) the first point again
    fresh = AxPlanner(SPACE, LOSS, seed=0, initialization_trials=3)
    drive(fresh, 6)
    again = SPACE.magnitudes(fresh.ask(1)[0].parameters)
    assert max(abs(a[k] - again[k]) for k in a) < max(abs(a[k] - b[k]) for k in a)


def _model_optimiser(planner: AxPlanner) -> dict:
    """The acquisition optimiser's settings the planner's model step is given."""
    [node] = [n for n in planner._client._generation_strategy._nodes if n.name == "MBM"]
    return node.generator_specs[0].generator_gen_kwargs["model_gen_options"]["optimizer_kwargs"]


def test_the_short_walk_is_asked_for_only_under_linear_constraints():
    """Options BoTorch's initialiser does not list are passed on to SciPy, where the walk's
    thinning turned off BoTorch's batched L-BFGS-B: unconstrained proposals were 2x slower."""
    from botorch.generation.gen import get_reasons_against_fast_path
    from botorch.optim.optimize import INIT_OPTION_KEYS

    free = SearchSpace(SPACE.parameters, [])
    options = _model_optimiser(AxPlanner(free, LOSS, seed=0)).get("options", {})
    to_scipy = {k: v for k, v in options.items() if k not in INIT_OPTION_KEYS}
    assert get_reasons_against_fast_path("L-BFGS-B", True, to_scipy, None) == []
    walk = _model_optimiser(AxPlanner(SPACE, LOSS, seed=0))["options"]
    assert walk["n_burnin"] < 10_000 and walk["n_thinning"] < 32  # shorter than BoTorch's


def test_under_a_constraint_the_box_is_tried_first(monkeypatch):
    """SLSQP under the constraints costs several times the bounds' L-BFGS-B: it runs only
    when the optimum over the box breaks the constraint, and every proposal keeps it."""
    import planners.ax_acquisition as acquisition

    constrained: list[bool] = []
    real = acquisition.box_first

    def counting(optimise, constraints):
        def spy(under: bool):
            constrained.append(under)
            return optimise(under)

        return real(spy, constraints)

    monkeypatch.setattr(acquisition, "box_first", counting)
    # the loss's minimum (1, 0.5) lies well inside a + b <= 2.5
    inside = drive(AxPlanner(SPACE, LOSS, seed=0, initialization_trials=3), 6)
    assert constrained and not any(constrained)
    assert all(SPACE.feasible(v) for v in inside)
    # the larger a + b the better: the box's optimum, (2, 2), breaks the constraint
    constrained.clear()
    planner = AxPlanner(SPACE, LOSS, seed=0, initialization_trials=3)
    for _ in range(6):
        [s] = planner.ask(1)
        values = SPACE.magnitudes(s.parameters)
        assert SPACE.feasible(values)
        planner.tell(s.index, {"loss": -values["a"] - values["b"]})
    assert True in constrained
    # around a pending trial the optimum moves out to the corners: no box first there
    [first] = planner.ask(1)  # on the boundary a + b = 2.5, at a's bound
    tried = len(constrained)
    [s] = planner.ask(1)  # the first still pending
    assert len(constrained) == tried and SPACE.feasible(SPACE.magnitudes(s.parameters))
    # SLSQP had left it 5e-11 outside, Ax then dropped it from the pending trials and
    # proposed it again
    assert s.parameters != first.parameters


def test_a_candidate_on_a_constraints_boundary_is_moved_just_inside():
    from planners.box_first import MARGIN, strictly_inside

    # a + b <= 0.5 as BoTorch writes it; a at its lower bound, b 5e-11 outside
    constraint = [(torch.tensor([0, 1]), torch.tensor([-1.0, -1.0], dtype=torch.double), -0.5)]
    bounds = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=torch.double)
    X = torch.tensor([[[0.0, 0.5 + 5e-11, 0.3]], [[0.2, 0.1, 0.9]]], dtype=torch.double)
    moved = strictly_inside(X, constraint, bounds)
    assert moved[0, 0, 0] == 0.0 and moved[0, 0, 2] == 0.3  # at its bound; not in it
    assert 0.5 - MARGIN * 1.01 < moved[0, 0, 1] <= 0.5 - MARGIN * 0.99
    assert torch.equal(moved[1], X[1])  # well inside: untouched
