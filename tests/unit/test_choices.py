"""Choices and discrete values: written in a campaign file, sampled and modelled by every
planner, filled into protocols, stored, edited by an operator, refused when wrong."""

from __future__ import annotations

import threading
from pathlib import Path

import pint
import pytest
import sqlalchemy
import yaml

from lab.campaigns.approvals import ApprovalDesk, InvalidEdit
from lab.errors import ConfigError
from lab.files.campaign_file import load_campaign
from lab.store import Store
from planners import (
    AxPlanner,
    ChoiceParameter,
    DiscreteParameter,
    LinearConstraint,
    Objective,
    Parameter,
    PlannerError,
    RandomPlanner,
    SearchSpace,
    SobolPlanner,
    SpectralPlanner,
    Suggestion,
)
from protocols import Protocol

ureg = pint.get_application_registry()

BASES = {"TEA": (18.8, 101.2), "TMG": (23.3, 115.2), "DBU": (24.3, 152.2)}
SPACE = SearchSpace(
    [
        ChoiceParameter("base", tuple(BASES), ("pka", "mass"), BASES),
        DiscreteParameter("equivalents", "", (1.0, 1.5, 2.0)),
        Parameter("a", "milliliter", 0.0, 2.0),
        Parameter("b", "milliliter", 0.0, 2.0),
    ],
    [LinearConstraint({"a": 1.0, "b": 1.0}, 2.5)],
)


def truth(v: dict) -> float:
    """Best with DBU, 1.5 equivalents, a = 1 mL: the choice matters most."""
    return (
        {"TEA": 3.0, "TMG": 1.0, "DBU": 0.0}[v["base"]]
        + (v["equivalents"] - 1.5) ** 2
        + (v["a"] - 1.0) ** 2
    )


def drive(planner, n: int, batch: int = 1) -> list[dict]:
    seen = []
    while len(seen) < n:
        for s in planner.ask(batch):
            values = planner.space.magnitudes(s.parameters)
            assert planner.space.feasible(values), values
            assert isinstance(s.parameters["base"], str)
            assert s.parameters["equivalents"].check("[]")
            seen.append(values)
            planner.tell(s.index, {"loss": truth(values)})
    return seen


@pytest.mark.parametrize("cls", [SobolPlanner, RandomPlanner])
def test_the_baselines_sample_every_choice_and_value_within_the_constraint(cls):
    seen = drive(cls(SPACE, [Objective("loss")], seed=1), 60)
    assert {v["base"] for v in seen} == set(BASES)
    assert {v["equivalents"] for v in seen} == {1.0, 1.5, 2.0}
    again = drive(cls(SPACE, [Objective("loss")], seed=1), 60)
    assert again == seen  # the same seed, the same stream


def test_ax_proposes_real_choices_by_their_descriptors_and_keeps_the_constraint():
    planner = AxPlanner(SPACE, [Objective("loss")], seed=0, initialization_trials=4)
    seen = drive(planner, 8, batch=2)  # pending trials, a batch of two
    model = seen[4:]
    assert sum(v["base"] == "DBU" for v in model) >= len(model) // 2
    assert min(truth(v) for v in seen) < 0.5
    assert planner.best()[0].parameters["base"] == "DBU"


def test_without_descriptors_ax_models_the_choices_by_a_categorical_kernel():
    space = SearchSpace(SPACE.parameters)
    planner = AxPlanner(
        space, [Objective("loss")], seed=0, initialization_trials=4, descriptors=False
    )
    seen = drive(planner, 6)
    assert list(planner.summary()["generation_node"])[-2:] == ["MBM", "MBM"]
    assert "DBU" in {v["base"] for v in seen[4:]}


def test_a_choice_no_longer_in_the_list_is_refused_when_replayed_and_nothing_changes():
    planner = SobolPlanner(SPACE, [Objective("loss")], seed=0)
    good = {
        "base": "TMG",
        "equivalents": ureg.Quantity(1.5, ""),
        "a": 1 * ureg.mL,
        "b": 1 * ureg.mL,
    }
    planner.replay(good, {"loss": 1.0})
    with pytest.raises(PlannerError, match=r"base: 'KOtBu' is not one of TEA, TMG, DBU"):
        planner.replay({**good, "base": "KOtBu"}, {"loss": 1.0})
    with pytest.raises(PlannerError, match=r"equivalents: 1.2 is not one of 1, 1.5, 2"):
        planner.replay({**good, "equivalents": ureg.Quantity(1.2, "")}, {"loss": 1.0})
    assert len(planner.history) == 1 and not planner.pending


def test_the_spectral_planner_says_it_takes_no_choices():
    from planners import SpectralDistance

    with pytest.raises(PlannerError, match="continuous parameters only"):
        SpectralPlanner(SPACE, [Objective("e", function=SpectralDistance([1.0], [1.0]))])


def test_a_point_outside_the_space_names_each_field():
    point = {"base": "NaOH", "equivalents": 3 * ureg.mL, "a": 1 * ureg.mL, "b": 1 * ureg.mL}
    assert SPACE.problems(point) == [
        "base: 'NaOH' is not one of TEA, TMG, DBU",
        "equivalents: '3 mL' is not convertible to a number without a unit",
    ]


# --- the campaign file ---------------------------------------------------------------------------
def _campaign(tmp_path: Path, parameters: dict, **extra) -> Path:
    (tmp_path / "p.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "p",
                "steps": [
                    {"step": "transfer", "source": "rack", "destination": "station"},
                    {"step": "dispense", "reagent": "{base}", "volume": "{volume}"},
                ],
            }
        )
    )
    (tmp_path / "bases.csv").write_text(
        "# pKa in MeCN\nbase,pka,mass\nTEA,18.8,101.2\nDBU,24.3,152.2\n"
    )
    path = tmp_path / "c.yaml"
    campaign = {
        "name": "c",
        "protocol": "p.yaml",
        "parameters": parameters,
        "objectives": [{"name": "volume_used", "kind": "total_volume"}],
        **extra,
    }
    path.write_text(yaml.safe_dump(campaign, sort_keys=False))
    return path


def test_the_campaign_syntax_reads_choices_descriptors_values_and_ranges(tmp_path: Path):
    path = _campaign(
        tmp_path,
        {
            "base": {"choices": ["TEA", "DBU"], "descriptors": "bases.csv"},
            "volume": {"values": ["1 mL", "500 uL", "2 mL"]},
            "equivalents": {"values": [2, 1, 1.5]},
            "temperature": {"min": "30 degC", "max": "60 degC"},
        },
    )
    space = load_campaign(path).search_space()
    base, volume, equivalents, temperature = space.parameters
    assert base == ChoiceParameter("base", ("TEA", "DBU"), ("pka", "mass"))
    assert base.descriptors == {"TEA": (18.8, 101.2), "DBU": (24.3, 152.2)}
    assert volume == DiscreteParameter("volume", "milliliter", (0.5, 1.0, 2.0))
    assert equivalents == DiscreteParameter("equivalents", "", (1.0, 1.5, 2.0))
    assert temperature == Parameter("temperature", "degree_Celsius", 30.0, 60.0)


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        ({"choices": []}, r"parameters\.base\.choices.*at least 1 item"),
        ({"choices": ["TEA", "TEA"]}, r"parameters\.base\.choices.*TEA named more than once"),
        ({"choices": ["TEA", "DBU", "TMG"], "descriptors": "bases.csv"}, r"no row for TMG"),
        ({"choices": ["TEA"], "descriptors": "missing.csv"}, r"parameters\.base\.descriptors"),
        ({"choices": ["TEA", "no good"]}, r"parameters\.base\.choices\.1.*is not a name"),
        ({"choices": ["TEA"], "min": "1 mL"}, r"parameters\.base\.min.*Extra inputs"),
        ({"values": [1, "2 mL"]}, r"give every value with a unit, or none"),
        ({"values": ["1 mL", "1000 uL"]}, r"name a value twice"),
        ({"values": ["1 mL", "3 degC"]}, r"not of the dimension"),
    ],
)
def test_bad_choices_and_values_are_refused_naming_the_field(tmp_path, parameter, expected):
    path = _campaign(tmp_path, {"base": parameter, "volume": {"min": "0 mL", "max": "1 mL"}})
    with pytest.raises(ConfigError, match=expected):
        load_campaign(path)


def test_a_descriptor_that_is_no_number_is_refused_naming_row_and_column(tmp_path: Path):
    path = _campaign(tmp_path, {"base": {"choices": ["TEA"], "descriptors": "bases.csv"}})
    (tmp_path / "bases.csv").write_text("base,pka\nTEA,strong\n")
    with pytest.raises(ConfigError, match=r"row 2 \(TEA\), column pka: 'strong' is not a number"):
        load_campaign(path)


def test_constraints_take_only_continuous_parameters_and_spectral_only_ranges(tmp_path: Path):
    path = _campaign(
        tmp_path,
        {"base": {"values": ["1 mL", "2 mL"]}, "volume": {"min": "0 mL", "max": "1 mL"}},
        constraints=["base + volume <= 2 mL"],
    )
    with pytest.raises(ConfigError, match=r"constraints\.0: .*base is not continuous"):
        load_campaign(path)


# --- protocols -----------------------------------------------------------------------------------
def test_a_choice_fills_a_reagent_and_a_quantity_cannot():
    protocol = Protocol.model_validate(
        {"name": "p", "steps": [{"step": "dispense", "reagent": "{base}", "volume": "{v}"}]}
    )
    assert set(protocol.placeholders()) == {"base", "v"}
    filled = protocol.fill({"base": "DBU", "v": 1 * ureg.mL})
    assert filled.steps[0].reagent == "DBU"
    with pytest.raises(ValueError, match=r"expected a name, got '1 mL'"):
        protocol.fill({"base": 1 * ureg.mL, "v": 1 * ureg.mL})


# --- approvals and the store ----------------------------------------------------------------------
def _pending(desk: ApprovalDesk) -> threading.Thread:
    desk.spaces["c"] = SPACE
    suggestion = Suggestion(
        0,
        {"base": "TEA", "equivalents": ureg.Quantity(1.0, ""), "a": 1 * ureg.mL, "b": 1 * ureg.mL},
        "ax:MBM",
    )
    thread = threading.Thread(target=desk.decide, args=("c", suggestion, threading.Event()))
    thread.start()
    while not desk.pending():
        pass
    return thread


def test_an_operator_edits_a_choice_and_a_value_from_their_lists():
    desk = ApprovalDesk()
    thread = _pending(desk)
    (proposal,) = desk.pending()
    shown = proposal.as_json()
    assert shown["bounds"]["base"] == {"choices": ["TEA", "TMG", "DBU"]}
    assert shown["bounds"]["equivalents"] == {
        "values": ["1.0 dimensionless", "1.5 dimensionless", "2.0 dimensionless"]
    }
    with pytest.raises(InvalidEdit, match=r"parameters\.base: 'KOtBu' is not one of TEA, TMG, DBU"):
        desk.approve("c", 0, "olga", {"base": "KOtBu"})
    with pytest.raises(InvalidEdit, match=r"parameters\.equivalents: 1.2 is not one of"):
        desk.approve("c", 0, "olga", {"equivalents": "1.2"})
    decision = desk.approve("c", 0, "olga", {"base": "DBU", "equivalents": "1.5"})
    thread.join(5)
    assert decision.parameters["base"] == "DBU"
    assert decision.parameters["equivalents"] == ureg.Quantity(1.5, "")


def test_a_choice_is_stored_by_name_beside_numbers(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite")
    store.open_campaign("c", {"x": 1}, {})
    params = {"base": "DBU", "a": 1.5 * ureg.mL}
    store.add_trial("c", 0, params, "ax/ax:MBM")
    store.close()
    again = Store(tmp_path / "s.sqlite")
    assert again.trials("c")[0].parameters == params
    again.close()


def test_a_store_from_before_choices_gains_the_column(tmp_path: Path):
    Store(tmp_path / "s.sqlite").close()
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 's.sqlite'}")
    with engine.begin() as c:
        c.execute(sqlalchemy.text("ALTER TABLE trial_values DROP COLUMN choice"))
    engine.dispose()
    store = Store(tmp_path / "s.sqlite")
    store.open_campaign("c", {"x": 1}, {})
    store.add_trial("c", 0, {"base": "TEA"}, "sobol/sobol")
    assert store.trials("c")[0].parameters == {"base": "TEA"}
    store.close()
