"""Protocol files: validation with field paths, filling, preflight that lists everything."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devices import Range, parse_quantity
from lab import ConfigError, load_protocol
from protocols import LabLimits, PreflightError, Protocol, preflight
from tests.conftest import EXAMPLES

LIMITS = LabLimits(
    reachable=frozenset({"rack", "synthesis_station", "spectrometer", "waste"}),
    sources=frozenset({"rack"}),
    waste="waste",
    station_slot="synthesis_station",
    spectrometer_holder="spectrometer",
    vial_capacity=Range(0, 10, "mL"),
    temperature=Range(20, 90, "degC"),
    stir_speed=Range(100, 1500, "rpm"),
    dispense_rate=Range(0.5, 30, "mL/min"),
    integration=Range(1, 2000, "ms"),
    stock_ml={"cyan": 100.0, "magenta": 100.0, "yellow": 1.0, "water": 100.0},
)
PARAMS = {
    "cyan": parse_quantity("1 mL"),
    "magenta": parse_quantity("0.5 mL"),
    "yellow": parse_quantity("0.5 mL"),
    "temperature": parse_quantity("40 degC"),
}


def test_example_protocol_fills_and_passes_preflight():
    template = load_protocol(EXAMPLES / "colour_mix.yaml")
    assert set(template.placeholders()) == set(PARAMS)
    concrete = template.fill(PARAMS)
    assert concrete.steps[1].volume == parse_quantity("1 mL")
    preflight(concrete, LIMITS)
    # the concrete protocol survives a JSON round trip (as a queue server would send it)
    again = Protocol.model_validate(concrete.to_json_dict(), context={"filled": True})
    assert again == concrete


@pytest.mark.parametrize(
    ("step", "path", "words"),
    [
        (
            {"step": "dispense", "reagent": "cyan", "volume": "2 degC"},
            "steps.0.dispense.volume",
            "[volume]",
        ),
        (
            {"step": "dispense", "reagent": "cyan", "volume": 2},
            "steps.0.dispense.volume",
            "has no unit",
        ),
        ({"step": "heat"}, "steps.0.heat.temperature", "Field required"),
        ({"step": "boil", "temperature": "9 degC"}, "steps.0.plugin", "unknown step 'boil'"),
        (
            {"step": "stir", "speed": "600 rpm", "duration": "1 blinks"},
            "steps.0.stir.duration",
            "unknown unit",
        ),
    ],
)
def test_bad_steps_name_their_field(step, path, words):
    with pytest.raises(ValidationError) as info:
        Protocol.model_validate({"name": "p", "steps": [step]})
    text = str(info.value)
    assert words in text
    located = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert path in located


def test_fill_rejects_a_parameter_of_the_wrong_dimension():
    template = load_protocol(EXAMPLES / "colour_mix.yaml")
    with pytest.raises(ValidationError, match="wrong dimension"):
        template.fill({**PARAMS, "temperature": parse_quantity("40 mL")})
    with pytest.raises(ValidationError, match="was not filled"):
        template.fill({k: v for k, v in PARAMS.items() if k != "cyan"})


def test_preflight_reports_every_violation_at_once():
    bad = Protocol.model_validate(
        {
            "name": "bad",
            "steps": [
                {"step": "dispense", "reagent": "cyan", "volume": "1 mL"},
                {"step": "transfer", "source": "rack", "destination": "moon"},
                {"step": "transfer", "source": "moon", "destination": "synthesis_station"},
                {"step": "dispense", "reagent": "yellow", "volume": "6 mL"},
                {"step": "dispense", "reagent": "gold", "volume": "6 mL"},
                {"step": "heat", "temperature": "150 degC"},
                {"step": "measure", "integration_time": "10 ms"},
            ],
        }
    )
    with pytest.raises(PreflightError) as info:
        preflight(bad, LIMITS)
    paths = {v.path for v in info.value.violations}
    assert {
        "steps.0",  # no vial at the station yet
        "steps.1.destination",  # unknown location
        "steps.4.reagent",  # no such reagent
        "steps.5.temperature",  # beyond the heater
        "steps.6",  # the vial is not at the spectrometer
    } <= paths
    messages = " ".join(v.message for v in info.value.violations)
    assert "a vial holds 10 mL" in messages
    assert "stock is 1 mL" in messages
    assert "the vial is left at 'synthesis_station'" in messages


def test_bounds_that_overfill_a_vial_at_a_corner_are_refused_with_a_constraint(example_dir):
    from lab import load_campaign
    from lab.files.campaign_checks import campaign_protocol, check_bounds
    from tests.conftest import edit_yaml

    edit_yaml(example_dir / "campaign.yaml", lambda d: d.update(constraints=[]))
    campaign = load_campaign(example_dir / "campaign.yaml")
    with pytest.raises(ConfigError) as info:
        check_bounds(campaign, campaign_protocol(campaign), LIMITS, "campaign.yaml")
    text = str(info.value)
    assert "dispenses 11 mL, more than a vial's 10 mL" in text
    assert "'cyan + magenta + yellow <= 8 mL'" in text
    edit_yaml(
        example_dir / "campaign.yaml",
        lambda d: d.update(constraints=["cyan + magenta + yellow <= 8 mL"]),
    )
    campaign = load_campaign(example_dir / "campaign.yaml")
    check_bounds(campaign, campaign_protocol(campaign), LIMITS, "campaign.yaml")


def test_limits_survive_json_as_a_workcell_sends_them():
    import json

    sent = json.loads(json.dumps(LIMITS.to_json()))
    assert LabLimits.from_json(sent) == LIMITS


def test_a_protocol_moved_to_another_station_names_its_slot():
    concrete = load_protocol(EXAMPLES / "colour_mix.yaml").fill(PARAMS)
    moved = concrete.moved({"synthesis_station": "station_2"})
    places = [
        (s.source, getattr(s, "destination", None)) for s in moved.steps if hasattr(s, "source")
    ]
    assert ("rack", "station_2") in places and ("station_2", "spectrometer") in places
    assert "synthesis_station" not in str(moved.to_json_dict())
    assert moved.steps[1:7] == concrete.steps[1:7]  # dispenses, heat, stir unchanged
    limits = LabLimits(
        **{
            **LIMITS.__dict__,
            "station_slot": "station_2",
            "reachable": LIMITS.reachable | {"station_2"},
        }
    )
    preflight(moved, limits)


def _moves(*places: tuple[str, str]) -> Protocol:
    return Protocol.model_validate(
        {
            "name": "moves",
            "steps": [{"step": "transfer", "source": a, "destination": b} for a, b in places],
        }
    )


def test_a_station_is_free_for_its_next_trial_once_a_vial_that_never_returns_has_left():
    slots = {"synthesis_station", "station_2"}
    assert load_protocol(EXAMPLES / "colour_mix.yaml").frees_its_station(slots)
    out = ("synthesis_station", "spectrometer")
    assert _moves(("rack", "synthesis_station"), out).frees_its_station(slots)
    # the vial comes back: the next trial would hold the slot this one waits for
    back = ("spectrometer", "synthesis_station")
    assert not _moves(("rack", "synthesis_station"), out, back).frees_its_station(slots)
    # the first step is not into the station: the next trial would hold something first
    assert not _moves(
        ("rack", "spectrometer"), ("spectrometer", "synthesis_station")
    ).frees_its_station(slots)
    # a place a parameter chooses is not known beforehand
    chosen = ("synthesis_station", "{where}")
    assert not _moves(("rack", "synthesis_station"), chosen).frees_its_station(slots)
