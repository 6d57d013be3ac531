"""Lab and campaign files: clear errors with file and field; constraints keep their units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pint
import pytest

from devices import parse_quantity
from lab import CampaignMismatch, ConfigError, Store, load_campaign, load_lab_config
from lab.files.campaign_file import parse_constraint
from planners import Parameter
from tests.conftest import edit_yaml


def test_example_files_load(example_dir: Path):
    campaign = load_campaign(example_dir / "campaign.yaml")
    assert campaign.protocol == (example_dir / "colour_mix.yaml").resolve()
    lab = load_lab_config(campaign.lab)
    assert lab.stations[0][1].pumps[1] == "cyan"
    assert [p.name for p in campaign.search_space().parameters] == [
        "cyan",
        "magenta",
        "yellow",
        "temperature",
    ]


def test_a_constraint_is_shown_as_written_and_checked_exactly(example_dir: Path):
    space = load_campaign(example_dir / "campaign.yaml").search_space()
    [constraint] = space.constraints
    assert constraint.text == "cyan + magenta + yellow <= 6 mL"  # as the file has it
    assert str(constraint) == "1.0*cyan + 1.0*magenta + 1.0*yellow <= 6.0"  # the planner's
    ureg = pint.get_application_registry()
    too_much = {"cyan": 3, "magenta": 3, "yellow": 1, "temperature": 30}
    quantities = {
        k: ureg.Quantity(v, p.unit)
        for p in space.parameters
        for k, v in too_much.items()
        if k == p.name
    }
    assert space.problems(quantities) == ["constraint cyan + magenta + yellow <= 6 mL: violated"]


def test_constraint_coefficients_follow_each_parameters_unit():
    params = {"a": Parameter("a", "milliliter", 0, 5), "b": Parameter("b", "microliter", 0, 5000)}
    c = parse_constraint("a + 2*b <= 0.006 L", params)
    assert c.coefficients["a"] == pytest.approx(0.001)
    assert c.coefficients["b"] == pytest.approx(2e-6)
    assert c.bound == pytest.approx(0.006)
    assert c.satisfied({"a": 4.0, "b": 1000.0})
    assert not c.satisfied({"a": 5.0, "b": 1000.0})
    # the optimiser's round-off past the bound is met; a thousandth of it is not
    assert c.satisfied({"a": 6.0 * (1 + 4e-7), "b": 0.0})
    assert not c.satisfied({"a": 6.0 * (1 + 1e-3), "b": 0.0})
    with pytest.raises(ValueError, match="unknown parameter 'c'"):
        parse_constraint("a + c <= 1 mL", params)
    with pytest.raises(ValueError, match="the bound is"):
        parse_constraint("a <= 1 s", params)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d["devices"]["arm"].update(reach=["rack", "moon"]), "unknown location 'moon'"),
        (
            lambda d: d["devices"]["station"]["pumps"].update({5: "gold"}),
            "pumps.5: unknown reagent 'gold'",
        ),
        (lambda d: d["devices"]["station"]["temperature"].update(max="90 mL"), "temperature.max"),
        (lambda d: d.pop("vial_capacity"), "vial_capacity: Field required"),
        (lambda d: d["devices"]["arm"].update(kind="laser"), "devices.arm"),
        (lambda d: d.update(simulated=False), "transport.port: required for real hardware"),
        (lambda d: d.update(simulated=False), "devices.station.transport.endpoint: required"),
        (
            lambda d: d["devices"].update(
                hplc={"kind": "analyser", "holder": "bench", "fields": {"yield": "percent"}}
            ),
            "devices.hplc.holder: unknown location 'bench'",
        ),
        (
            lambda d: d["devices"].update(
                hplc={"kind": "analyser", "holder": "rack", "fields": {"yield": "bananas"}}
            ),
            "yield: 'bananas' is not a unit",
        ),
    ],
)
def test_bad_lab_files_name_file_and_field(example_dir: Path, edit, words):
    edit_yaml(example_dir / "lab.yaml", edit)
    with pytest.raises(ConfigError) as info:
        load_lab_config(example_dir / "lab.yaml")
    assert words in str(info.value)
    assert "lab.yaml" in str(info.value)


def test_malformed_yaml_is_a_config_error(tmp_path: Path):
    bad = tmp_path / "campaign.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_campaign(bad)


def test_store_keeps_documents_trials_and_samples(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite")
    assert store.open_campaign("c", {"x": 1}, {}) is False
    assert store.open_campaign("c", {"x": 1}, {}) is True
    store.add_trial("c", 0, {"a": parse_quantity("1.0 milliliter")}, "sobol/sobol")
    store.add_document("uid-1", "start", {"uid": "uid-1", "time": 0.0})
    store.add_document("uid-1", "event", {"data": {"spec": np.arange(3.0)}})
    store.update_trial("c", 0, status="completed", outcomes={"loss": 0.5}, run_uid="uid-1")
    store.add_sample("V1", "c", 0, {"cyan": "1.0 milliliter"}, "waste")
    store.close()

    again = Store(tmp_path / "s.sqlite")
    [trial] = again.trials("c")
    assert (trial.status, trial.outcomes, trial.run_uid) == ("completed", {"loss": 0.5}, "uid-1")
    assert trial.finished is not None
    assert [n for n, _ in again.documents("uid-1")] == ["start", "event"]
    assert again.documents("uid-1")[1][1]["data"]["spec"] == [0.0, 1.0, 2.0]
    assert again.sample("V1")["composition"] == {"cyan": "1.0 milliliter"}
    with pytest.raises(Exception, match="different definition"):
        again.open_campaign("c", {"x": 2}, {})


def test_constraint_with_an_exponent_reads_exactly():
    params = {n: Parameter(n, "milliliter", 0, 3) for n in ("cyan", "magenta")}
    c = parse_constraint("1e-3*cyan - 2.5E+1*magenta + cyan <= 6 mL", params)
    assert c.coefficients == {"cyan": pytest.approx(1.001), "magenta": -25.0}
    tiny = parse_constraint("0.123456789*cyan <= 1 mL", params)
    assert "0.123456789*cyan" in str(tiny)  # what the planner is given is not rounded


@pytest.mark.parametrize(
    ("constraints", "words"),
    [
        (["cyan <= 3 mL", "cyan + magneta <= 6 mL"], "constraints.1: 'cyan + magneta <= 6 mL'"),
        (["cyan magenta <= 1 mL"], "constraints.0: 'cyan magenta <= 1 mL': cannot read"),
        (["cyan + magenta + yellow >= 1 mL"], "constraints.0:"),
        (["-cyan - magenta <= -7 mL"], "constraints: no point within the parameters' bounds"),
    ],
)
def test_bad_constraints_name_their_index(example_dir: Path, constraints, words):
    edit_yaml(example_dir / "campaign.yaml", lambda d: d.update(constraints=constraints))
    with pytest.raises(ConfigError) as info:
        load_campaign(example_dir / "campaign.yaml")
    assert words in str(info.value)
    assert info.value.source.endswith("campaign.yaml")


def test_each_lab_consistency_problem_has_its_own_field(example_dir: Path):
    def edit(d):
        d["devices"]["arm"]["reach"] = ["rack", "moon"]
        d["devices"]["station"]["pumps"][5] = "gold"

    edit_yaml(example_dir / "lab.yaml", edit)
    with pytest.raises(ConfigError) as info:
        load_lab_config(example_dir / "lab.yaml")
    problems = info.value.problems
    assert "devices.arm.reach: unknown location 'moon'" in problems
    assert "devices.station.pumps.5: unknown reagent 'gold'" in problems
    assert not any(p.startswith("(top level)") for p in problems)


@pytest.mark.parametrize(
    ("chemistry", "simulated", "words"),
    [
        ("os:system", True, "chemistry: 'os:system' must"),
        ("no.such.module:f", True, "chemistry: cannot load 'no.such.module:f'"),
        ("json:JSONDecodeError", True, "chemistry: cannot load"),
        ("simulators.chemistry:DyeChemistry", False, "only a simulated lab has a chemistry"),
    ],
)
def test_chemistry_names_a_ground_truth_and_only_in_simulation(
    example_dir: Path, chemistry, simulated, words
):
    def edit(d: dict) -> None:
        d["simulation"]["chemistry"] = chemistry
        d["simulated"] = simulated

    edit_yaml(example_dir / "lab.yaml", edit)
    with pytest.raises(ConfigError) as info:
        load_lab_config(example_dir / "lab.yaml")
    assert words in str(info.value)


def test_a_refused_campaign_leaves_nothing_that_refuses_the_corrected_file(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite")
    store.open_campaign("c", {"x": "wrong"}, {})
    assert store.open_campaign("c", {"x": "corrected"}, {}) is False
    store.add_trial("c", 0, {"a": parse_quantity("1.0 milliliter")}, "sobol/sobol")
    with pytest.raises(CampaignMismatch):
        store.open_campaign("c", {"x": "changed after a trial"}, {})


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda d: d["devices"]["station"]["temperature"].update(min="90 degC", max="20 degC"),
            "devices.station.temperature: min '90 °C' must be below max '20 °C'",
        ),
        (
            lambda d: d["devices"]["spectrometer"]["integration_time"].update(max="1 ms"),
            "devices.spectrometer.integration_time: min",
        ),
        (
            lambda d: d.update(vial_capacity="{capacity}"),
            "vial_capacity: placeholders such as {capacity} belong in protocol files only",
        ),
    ],
)
def test_inverted_ranges_and_placeholders_are_refused_at_load(example_dir: Path, edit, words):
    edit_yaml(example_dir / "lab.yaml", edit)
    with pytest.raises(ConfigError) as info:
        load_lab_config(example_dir / "lab.yaml")
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("interlock", "words"),
    [
        ({"signal": "enclosure.door_open"}, "interlocks.x.signal: no device 'enclosure'"),
        (
            {"signal": "station.heater.temperature", "above": "hot"},
            "interlocks.x.above: 'hot' is not a number followed by a unit",
        ),
        ({"signal": "station.leak", "action": "shrug"}, "interlocks.x.action"),
    ],
)
def test_an_interlock_names_a_device_and_a_quantity(example_dir: Path, interlock, words):
    edit_yaml(example_dir / "lab.yaml", lambda d: d.update(interlocks={"x": interlock}))
    with pytest.raises(ConfigError) as info:
        load_lab_config(example_dir / "lab.yaml")
    assert words in str(info.value)


def test_a_lab_file_from_before_the_simulation_section_is_still_read_and_told_where_to_move(
    example_dir: Path, caplog: pytest.LogCaptureFixture
):
    def older(d: dict) -> None:
        simulation = d.pop("simulation")
        d["clock_speed"], d["chemistry"] = simulation["clock_speed"], simulation["chemistry"]
        d["devices"]["arm"]["speed_mm_s"] = 300
        d["devices"]["spectrometer"]["noise_seed"] = 7

    edit_yaml(example_dir / "lab.yaml", older)
    config = load_lab_config(example_dir / "lab.yaml")
    assert config.simulation.clock_speed == 1000  # as the example_dir fixture set it
    assert config.simulation.device("arm").speed_mm_s == 300
    assert config.simulation.device("spectrometer").noise_seed == 7
    assert config.simulation.device("station").speed_mm_s == 250  # the default
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "lab.files.lab_file"]
    assert "clock_speed, chemistry, devices.arm.speed_mm_s, devices.spectrometer.noise_seed" in (
        warning
    )
    assert "simulation.devices.arm.speed_mm_s" in warning and "move them there" in warning


@pytest.mark.parametrize(
    ("devices", "words"),
    [
        ({"robot": {"speed_mm_s": 100}}, "simulation.devices.robot: no device 'robot' in devices"),
        (
            {"station": {"noise_seed": 3}},
            "simulation.devices.station.noise_seed: a setting of a spectrometer, analyser or "
            "pylabrobot_plate_reader, and station is a synthesis_station",
        ),
    ],
)
def test_a_simulator_setting_names_a_device_of_its_kind(example_dir: Path, devices, words):
    edit_yaml(example_dir / "lab.yaml", lambda d: d["simulation"].update(devices=devices))
    with pytest.raises(ConfigError) as info:
        load_lab_config(example_dir / "lab.yaml")
    assert words in str(info.value)


def test_a_campaign_beyond_its_lab_is_refused_before_any_device_starts(example_dir: Path):
    """prepare() builds nothing: the bounds are checked against the limits the lab file
    declares, so a bad campaign costs no simulator and no connection."""
    from lab import prepare

    edit_yaml(
        example_dir / "campaign.yaml",
        lambda d: d["parameters"]["temperature"].update(max="150 degC"),
    )
    with pytest.raises(
        ConfigError, match=r"parameters\.temperature\.max: .* device limit 20\.\.90"
    ):
        prepare(example_dir / "campaign.yaml")


def test_overlap_asks_for_proposals_ahead_and_a_protocol_that_hands_the_station_over(
    example_dir: Path, tmp_path: Path
):
    from types import SimpleNamespace

    from lab import CampaignRunner, load_protocol

    edit_yaml(
        example_dir / "campaign.yaml",
        lambda d: d.update(overlap=True, planner={"name": "sobol", "propose_ahead": False}),
    )
    with pytest.raises(ConfigError, match=r"overlap: needs planner\.propose_ahead: true"):
        load_campaign(example_dir / "campaign.yaml")
    edit_yaml(example_dir / "campaign.yaml", lambda d: d.update(planner={"name": "sobol"}))
    campaign = load_campaign(example_dir / "campaign.yaml")
    lab = SimpleNamespace(config=load_lab_config(example_dir / "lab.yaml"))
    # the vial comes back to the station after it is measured: refused before anything runs

    def back_to_the_station(protocol: dict) -> None:
        protocol["steps"][-1:] = [
            {"step": "transfer", "source": "spectrometer", "destination": "synthesis_station"},
            {"step": "discard", "source": "synthesis_station"},
        ]

    edit_yaml(example_dir / "colour_mix.yaml", back_to_the_station)
    back = load_protocol(example_dir / "colour_mix.yaml")
    with pytest.raises(ConfigError, match=r"overlap: colour_mix's first step must put the vial"):
        CampaignRunner(lab, campaign, back, Store(tmp_path / "s.sqlite"), None)  # type: ignore[arg-type]
