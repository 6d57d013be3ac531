"""Objectives: any measured reading, a user's own function, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pint
import pytest

from lab import ConfigError, load_campaign
from planners import MeasuredValue, Measurement, SpectralDistance
from tests.conftest import edit_yaml

ureg = pint.get_application_registry()


def purity_weighted_yield(measurement: Measurement) -> float:
    """A user's objective: yield counted only as far as the product is pure."""
    return float(measurement.value("yield").m_as("percent") * measurement.value("purity").m_as(""))


def reading(**values: pint.Quantity) -> Measurement:
    return Measurement(None, None, {}, values)


def test_a_reading_is_found_by_its_data_key_or_its_own_name():
    m = reading(**{"hplc-yield": ureg.Quantity(62.0, "percent")})
    assert MeasuredValue("hplc-yield")(m) == 62.0
    assert MeasuredValue("yield")(m) == 62.0
    assert MeasuredValue("yield", "dimensionless")(m) == pytest.approx(0.62)  # as asked
    with pytest.raises(ValueError, match=r"no reading is called 'purity'.*hplc-yield"):
        MeasuredValue("purity")(m)


def test_an_ambiguous_reading_is_refused_naming_both():
    m = reading(**{"a-yield": ureg.Quantity(1, "percent"), "b-yield": ureg.Quantity(2, "percent")})
    with pytest.raises(ValueError, match="several readings are called 'yield'"):
        MeasuredValue("yield")(m)


def test_a_spectral_objective_on_a_run_without_a_spectrum_says_so():
    with pytest.raises(ValueError, match="needs a spectrum"):
        SpectralDistance(np.array([400.0, 500.0]), np.array([0.1, 0.2]))(reading())


def test_a_campaign_can_name_its_own_objective_function(example_dir: Path):
    edit_yaml(
        example_dir / "campaign.yaml",
        lambda c: c.update(
            objectives=[
                {
                    "name": "score",
                    "kind": "callable",
                    "call": "tests.unit.test_objectives:purity_weighted_yield",
                    "minimize": False,
                }
            ]
        ),
    )
    score = load_campaign(example_dir / "campaign.yaml").measures()["score"]
    m = reading(
        **{
            "hplc-yield": ureg.Quantity(80.0, "percent"),
            "hplc-purity": ureg.Quantity(90.0, "percent"),
        }
    )
    assert score(m) == pytest.approx(72.0)


@pytest.mark.parametrize(
    ("objective", "words"),
    [
        ({"name": "yield", "kind": "measured", "field": "yield"}, "'yield' is a Python word"),
        ({"name": "y", "kind": "measured"}, "measured needs field"),
        ({"name": "y", "kind": "measured", "field": "yield", "unit": "bananas"}, "not a unit"),
        ({"name": "y", "kind": "callable", "call": "nowhere.at_all:f"}, "cannot load 'nowhere"),
        ({"name": "y", "kind": "callable", "call": "math:pi"}, "is not callable"),
    ],
)
def test_bad_objectives_are_refused_with_the_field(example_dir: Path, objective, words):
    edit_yaml(example_dir / "campaign.yaml", lambda c: c.update(objectives=[objective]))
    with pytest.raises(ConfigError) as info:
        load_campaign(example_dir / "campaign.yaml")
    assert words in str(info.value) and "objectives.0" in str(info.value)
