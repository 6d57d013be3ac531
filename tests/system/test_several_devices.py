"""A lab with two arms, each with its own reach, and two spectrometers: a transfer is
carried by an arm that reaches both places, a measurement is taken by the spectrometer
that holds the vial, and a protocol no arm can carry is refused before anything moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import ConfigError, Store, load_lab_config, run_campaign
from protocols import PreflightError, Protocol, preflight
from tests.conftest import edit_yaml


def _two_of_each(lab: dict) -> None:
    lab["locations"]["spectrometer_b"] = {"xyz_mm": [600, 380, 60]}
    devices = lab["devices"]
    devices["arm"]["reach"] = ["rack", "synthesis_station", "spectrometer", "waste"]
    devices["arm_b"] = {
        "kind": "robotic_arm",
        "transport": {"type": "serial", "timeout": "10 s"},
        "home": "synthesis_station",
        "reach": ["synthesis_station", "spectrometer_b", "waste"],
    }
    devices["spectrometer_b"] = {
        **devices["spectrometer"],
        "holder": "spectrometer_b",
        "integration_time": {"min": "1 ms", "max": "500 ms"},
    }


@pytest.fixture
def two_of_each(example_dir: Path) -> Path:
    edit_yaml(example_dir / "lab.yaml", _two_of_each)

    def measured_on_b(protocol: dict) -> None:
        for step in protocol["steps"]:
            if step.get("destination") == "spectrometer":
                step["destination"] = "spectrometer_b"
            if step.get("source") == "spectrometer":
                step["source"] = "spectrometer_b"

    edit_yaml(example_dir / "colour_mix.yaml", measured_on_b)
    edit_yaml(example_dir / "campaign.yaml", lambda c: c.update(trials=2))
    return example_dir


def test_each_step_goes_to_the_device_that_can_do_it(two_of_each: Path):
    store_path = two_of_each / "store.sqlite"
    result = run_campaign(two_of_each / "campaign.yaml", store=store_path)
    assert [t.status for t in result.trials] == ["completed", "completed"]
    store = Store(store_path)
    try:
        for trial in store.trials("colour-match"):
            docs = store.documents(trial.run_uid)
            events = [d["data"] for n, d in docs if n == "event"]
            carried = [k for e in events for k, v in e.items() if k.endswith("-holding") and v]
            # the first arm brings the vial to the station, the second takes it on
            assert carried[:2] == ["arm-holding", "arm_b-holding"]
            assert any("spectrometer_b-absorbance" in e for e in events)
            assert not any("spectrometer-absorbance" in e for e in events)
            assert trial.outcomes and trial.outcomes["colour_error"] > 0  # measured on b
            assert trial.sample_id is not None  # the ledger follows the vial across arms
    finally:
        store.close()


def test_a_transfer_no_arm_can_carry_is_refused_before_anything_moves(two_of_each: Path):
    limits = load_lab_config(two_of_each / "lab.yaml").declared_limits()
    protocol = Protocol.model_validate(
        {
            "name": "too_far",
            "steps": [
                {"step": "transfer", "source": "rack", "destination": "spectrometer_b"},
                {"step": "measure", "integration_time": "800 ms"},
                {"step": "discard", "source": "spectrometer_b"},
            ],
        }
    )
    with pytest.raises(PreflightError) as caught:
        preflight(protocol, limits)
    problems = [str(v) for v in caught.value.violations]
    assert problems[0].startswith(
        "steps.0: no arm reaches both 'rack' and 'spectrometer_b' (reaches: arm: rack, "
        "spectrometer, synthesis_station, waste; arm_b: spectrometer_b, synthesis_station, waste)"
    )
    # the spectrometer that holds the vial judges the integration time: b's is 1..500 ms
    assert "steps.1.integration_time: '800 ms' is outside the device limit 1..500 ms" in problems


def test_a_holder_no_arm_reaches_is_named(two_of_each: Path):
    def unreachable(lab: dict) -> None:
        lab["devices"]["arm_b"]["reach"].remove("spectrometer_b")

    edit_yaml(two_of_each / "lab.yaml", unreachable)
    with pytest.raises(ConfigError) as caught:
        load_lab_config(two_of_each / "lab.yaml")
    assert (
        "an arm's reach (arm, arm_b): must include the spectrometer_b's holder 'spectrometer_b'"
        in str(caught.value)
    )
