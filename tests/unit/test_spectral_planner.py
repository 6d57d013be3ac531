"""The spectral planner (composite BO): it models the spectrum, so on a spectral target
it needs fewer trials than scalar BO; it keeps to the space, resumes, and is refused for
objectives it cannot model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pint
import pytest

from lab import ConfigError, load_campaign
from planners import (
    LinearConstraint,
    Measurement,
    Objective,
    Parameter,
    PlannerError,
    SearchSpace,
    SpectralDistance,
    planner_class,
)
from tests.conftest import edit_yaml

ureg = pint.get_application_registry()
WAVELENGTHS = np.linspace(400.0, 700.0, 61)
DYES = ("cyan", "magenta", "yellow")


def _band(centre: float, width: float = 35.0) -> np.ndarray:
    return np.exp(-0.5 * ((WAVELENGTHS - centre) / width) ** 2)


SPACE = SearchSpace(
    [Parameter(d, "mL", 0.0, 3.0) for d in DYES] + [Parameter("temperature", "degC", 20, 80)],
    [LinearConstraint({d: 1.0 for d in DYES}, 6.0)],
)


def spectrum(v: dict[str, float]) -> np.ndarray:
    """Three dye bands, and a complex of cyan and magenta that grows with temperature."""
    heat = (v["temperature"] - 20.0) / 60.0
    bands = sum(0.25 * v[d] * _band(c) for d, c in zip(DYES, (620, 530, 430), strict=True))
    return bands + 0.4 * heat * v["magenta"] * v["cyan"] / 3.0 * _band(580, 25)


TARGET = spectrum({"cyan": 1.3, "magenta": 0.8, "yellow": 2.2, "temperature": 65.0})
DISTANCE = SpectralDistance(WAVELENGTHS, TARGET)


def _trials_to(planner_name: str, level: float, trials: int, seed: int = 0) -> int | None:
    """The first trial whose true distance to the target is within ``level``."""
    planner = planner_class(planner_name)(
        SPACE, [Objective("error", True, DISTANCE)], seed=seed, initialization_trials=5
    )
    rng = np.random.default_rng(seed)
    for i in range(trials):
        [s] = planner.ask(1)
        v = SPACE.magnitudes(s.parameters)
        assert SPACE.feasible(v)
        clean = spectrum(v)
        m = Measurement(WAVELENGTHS, clean + rng.normal(0, 0.003, clean.size), s.parameters)
        planner.tell(s.index, {"error": DISTANCE(m)}, m)
        if np.sqrt(np.mean((clean - TARGET) ** 2)) <= level:
            return i + 1
    return None


def test_modelling_the_spectrum_needs_fewer_trials_than_scalar_bo():
    spectral = _trials_to("spectral", 0.02, trials=12)
    scalar = _trials_to("ax", 0.02, trials=12)
    assert spectral is not None and spectral <= 9
    assert scalar is None or spectral < scalar


def _measured(v: dict[str, float], parameters: dict) -> Measurement:
    return Measurement(WAVELENGTHS, spectrum(v), parameters)


def test_a_resumed_spectral_planner_proposes_from_its_model_and_needs_the_spectra():
    planner = planner_class("spectral")(
        SPACE, [Objective("error", True, DISTANCE)], seed=1, initialization_trials=3
    )
    sobol = planner_class("sobol")(SPACE, [Objective("error")], seed=2)
    for s in sobol.ask(4):
        m = _measured(SPACE.magnitudes(s.parameters), s.parameters)
        planner.replay(s.parameters, {"error": DISTANCE(m)}, measurement=m)
    planner.replay(s.parameters, None, "pump jammed")  # a failed trial is no spectrum
    [proposal] = planner.ask(1)
    assert proposal.generator == "spectral:model" and proposal.index == 5
    assert SPACE.feasible(SPACE.magnitudes(proposal.parameters))
    assert proposal.details["observations"] == 4
    with pytest.raises(PlannerError, match="needs the measurement"):
        planner.tell(proposal.index, {"error": 0.1})


def test_a_batch_keeps_to_the_linear_constraint():
    tight = SearchSpace(SPACE.parameters, [LinearConstraint({d: 1.0 for d in DYES}, 2.0)])
    planner = planner_class("spectral")(
        tight, [Objective("error", True, DISTANCE)], seed=3, initialization_trials=3
    )
    for s in planner.ask(3):
        v = tight.magnitudes(s.parameters)
        planner.tell(s.index, {"error": 0.0}, _measured(v, s.parameters))
    batch = planner.ask(3)
    assert len({s.index for s in batch}) == 3
    for s in batch:
        v = tight.magnitudes(s.parameters)
        assert sum(v[d] for d in DYES) <= 2.0 + 1e-6


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda d: d["objectives"].append({"name": "volume", "kind": "total_volume"}),
            "the spectral planner takes exactly one objective",
        ),
        (
            lambda d: d.update(objectives=[{"name": "v", "kind": "total_volume"}]),
            "objectives.0.kind: the spectral planner needs one computed from the spectrum",
        ),
        (
            lambda d: d.update(
                outcome_constraints=[{"name": "peak", "kind": "max_absorbance", "max": 2}]
            ),
            "outcome_constraints: not taken by the spectral planner",
        ),
    ],
)
def test_a_campaign_the_spectral_planner_cannot_model_is_refused(
    example_dir: Path, edit, words: str
):
    campaign = example_dir / "campaign.yaml"
    edit_yaml(campaign, lambda d: d.update(planner={"name": "spectral"}))
    edit_yaml(campaign, edit)
    with pytest.raises(ConfigError, match=words):
        load_campaign(campaign)
