"""Whole-lab runs through the ``lab`` command line, as a scientist would run them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devices import parse_quantity
from lab import Store
from tests.conftest import edit_yaml
from tests.system.lab_process import lab_command as lab_cli

pytestmark = pytest.mark.system


def run_cli(campaign: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return lab_cli("campaign", "run", campaign, *args, cwd=cwd)


def stored_trials(store: Path) -> list:
    db = Store(store)
    try:
        return db.trials("colour-match")
    finally:
        db.close()


def test_campaign_runs_end_to_end_and_resumes(example_dir: Path, tmp_path: Path):
    store = tmp_path / "out" / "store.sqlite"
    first = run_cli(
        example_dir / "campaign.yaml",
        "--trials",
        "3",
        "--store",
        store,
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    assert "campaign colour-match: 3 trials" in first.stdout
    assert (tmp_path / "out" / "colour-match-best_so_far.png").stat().st_size > 10_000
    assert (tmp_path / "out" / "colour-match-best_spectrum.png").stat().st_size > 10_000
    assert (tmp_path / "out" / "colour-match-parameters.png").stat().st_size > 10_000
    assert (tmp_path / "out" / "colour-match-timeline.png").stat().st_size > 10_000

    db = Store(store)
    before = db.trials("colour-match")
    assert [t.status for t in before] == ["completed"] * 3
    assert all(t.run_uid and t.sample_id for t in before)
    names = [n for n, _ in db.documents(before[0].run_uid)]
    assert names[0] == "start" and names[-1] == "stop" and "event" in names
    assert db.sample(before[0].sample_id)["trial"] == 0
    db.close()

    second = run_cli(
        example_dir / "campaign.yaml",
        "--trials",
        "5",
        "--store",
        store,
        cwd=tmp_path,
    )
    assert second.returncode == 0, second.stderr
    assert "resuming colour-match: 3 trials already in the store" in second.stdout
    after = stored_trials(store)
    assert [t.idx for t in after] == [0, 1, 2, 3, 4]
    assert [(t.parameters, t.outcomes) for t in after[:3]] == [
        (t.parameters, t.outcomes) for t in before
    ]
    assert len({tuple(t.parameters.values()) for t in after}) == 5  # nothing repeated

    shown = lab_cli("campaign", "show", store, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "5 trials: 5 completed, 0 failed; planner sobol" in shown.stdout
    assert "where the lab time went" in shown.stdout
    # at this test's 1000x clock a command's milliseconds are long: which device leads
    # depends on the machine, that one is named does not
    assert re.search(
        r"Bottleneck: (arm|station|spectrometer), busy \d+% of the lab time", shown.stdout
    )
    report = lab_cli(
        "campaign", "report", example_dir / "campaign.yaml", "--store", store, cwd=tmp_path
    )
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "out" / "colour-match-report.html").read_text()
    assert page.count("data:image/png;base64,") == 4  # objective, parameters, timeline, spectrum
    # trials and their header, the provenance rows, the time of each device and its header
    assert page.count("<tr") == 5 + 1 + 7 + 3 + 1
    assert "Where the lab time went" in page and "waiting for its next trial" in page
    assert "sdl-lab" in page and "planner" in page
    assert "http://" not in page and "https://" not in page  # opens offline
    as_json = json.loads(lab_cli("campaign", "show", store, "--json", cwd=tmp_path).stdout)
    assert [t["trial"] for t in as_json["trials"]] == [0, 1, 2, 3, 4]
    shares = {u["device"]: u for u in as_json["time_use"]}
    assert set(shares) == {"arm", "spectrometer", "station"}
    for u in shares.values():
        parts = ("busy", "waiting_resource", "waiting_software", "idle")
        assert sum(u[k] for k in parts) == pytest.approx(1.0)
    assert shares["station"]["busy"] > 0 and shares["arm"]["busy"] > 0
    assert as_json["experiments_per_hour"] > 0
    assert as_json["trials"][as_json["best"]]["outcomes"] == min(
        (t.outcomes for t in after), key=lambda o: o["colour_error"]
    )


def test_a_trial_cut_off_by_a_crash_is_failed_not_repeated(example_dir: Path, tmp_path: Path):
    store = tmp_path / "store.sqlite"
    assert (
        run_cli(
            example_dir / "campaign.yaml",
            "--trials",
            "2",
            "--store",
            store,
            cwd=tmp_path,
        ).returncode
        == 0
    )
    db = Store(store)  # a kill -9 mid-trial leaves a running trial behind
    db.add_trial(
        "colour-match",
        2,
        {
            "cyan": parse_quantity("1.0 milliliter"),
            "magenta": parse_quantity("1.0 milliliter"),
            "yellow": parse_quantity("1.0 milliliter"),
            "temperature": parse_quantity("30.0 degree_Celsius"),
        },
        "sobol/sobol",
    )
    db.update_trial("colour-match", 2, status="running")
    start = {"uid": "cut-off-run", "time": 0.0, "campaign": "colour-match", "trial": 2}
    db.record("start", start)  # its run had begun: reagent may be in the vial
    db.close()
    done = run_cli(
        example_dir / "campaign.yaml",
        "--trials",
        "4",
        "--store",
        store,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    trials = stored_trials(store)
    assert [t.status for t in trials] == ["completed", "completed", "failed", "completed"]
    assert "interrupted while running" in trials[2].error


def test_ax_planner_closes_the_loop(example_dir: Path, tmp_path: Path):
    edit_yaml(
        example_dir / "campaign.yaml",
        lambda d: d.update(planner={"name": "ax", "seed": 0, "initialization_trials": 2}),
    )
    result = run_cli(
        example_dir / "campaign.yaml",
        "--trials",
        "3",
        "--store",
        tmp_path / "s.sqlite",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    planners = [t.planner for t in stored_trials(tmp_path / "s.sqlite")]
    assert planners[-1] == "ax/ax:MBM"  # the model proposed the last trial


@pytest.mark.parametrize(
    ("target", "edit", "words"),
    [
        (
            "colour_mix.yaml",
            lambda d: d["steps"][1].update(volume="{temperature}"),
            "steps.1.dispense.volume: '25 °C' has the wrong dimension",
        ),
        (
            "campaign.yaml",
            lambda d: d["parameters"]["temperature"].update(max="150 degC"),
            "parameters.temperature.max: '150 °C' is outside the device limit 20..90 °C",
        ),
        (
            "colour_mix.yaml",
            lambda d: d["steps"][0].update(destination="freezer"),
            "unknown or unreachable location 'freezer'",
        ),
        ("lab.yaml", lambda d: d["devices"].pop("spectrometer"), "need at least one spectrometer"),
        ("campaign.yaml", lambda d: d.pop("objectives"), "objectives: Field required"),
        ("campaign.yaml", lambda d: d["parameters"]["cyan"].update(min=0), "has no unit"),
        (
            "lab.yaml",
            lambda d: d["interlocks"]["over_temperature"].update(above=None),
            "interlocks.over_temperature.above: station.heater.temperature is a number (degC)",
        ),
        (
            "lab.yaml",
            lambda d: d["simulation"].update(clock_speed=float("nan")),
            "simulation.clock_speed: Input should",
        ),
        (
            "lab.yaml",
            lambda d: d["devices"]["station"].update(ambient="200 degC"),
            "ambient: 200 degC is no room's temperature",
        ),
        (
            "lab.yaml",
            lambda d: d.update(watchdog_period="1e999 s"),
            "watchdog_period: '1e999 s': 1e999 is not a finite number",
        ),
    ],
)
def test_bad_files_fail_clearly_and_leave_the_store_alone(
    example_dir: Path, tmp_path: Path, target: str, edit, words: str
):
    edit_yaml(example_dir / target, edit)
    store = tmp_path / "never" / "store.sqlite"
    result = run_cli(example_dir / "campaign.yaml", "--store", store, cwd=tmp_path)
    assert result.returncode == 2
    assert words in " ".join(result.stderr.split())
    assert not store.parent.exists()


def test_devices_lists_every_device_and_its_state(example_dir: Path, tmp_path: Path):
    result = lab_cli("devices", "--lab", example_dir / "lab.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for words in (
        "robotic_arm",
        "synthesis_station",
        "spectrometer",
        "SDL-Sim RoboArm, serial SN1001, firmware 1.0",
        "location = rack",
        "vial volume = 0 mL",  # one naming style, the dashboard's
        "heater temperature = 25 °C",  # pint's symbols
        "door open = no",
        "absorbance = 101 points over 380-780 nm, max 0 AU",  # an array in short
    ):
        assert words in result.stdout
    as_json = lab_cli("devices", "--lab", example_dir / "lab.yaml", "--json", cwd=tmp_path)
    state = json.loads(as_json.stdout)
    assert state["station"]["readings"]["heater temperature"]["units"] == "degC"
    assert len(state["spectrometer"]["readings"]["wavelengths"]["value"]) == 101


def test_lab_sim_serves_instruments_on_real_ptys(example_dir: Path, tmp_path: Path):
    import serial

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lab.cli",
            "sim",
            "--lab",
            str(example_dir / "lab.yaml"),
            "--directory",
            str(tmp_path / "dev"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
    try:
        for line in server.stdout:  # the table comes first, then this line
            if "serving" in line:
                break
        with serial.Serial(str(tmp_path / "dev" / "spectrometer"), 115200, timeout=5) as port:
            port.write(b"*IDN?\n")
            assert port.readline() == b"OK SDL-Sim,UVVis,SN3001,1.0\n"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_several_objectives_give_a_pareto_front_chosen_by_the_model(
    example_dir: Path, tmp_path: Path
):
    campaign = example_dir / "campaign_pareto.yaml"
    edit_yaml(campaign, lambda c: c.update(planner={"name": "ax", "initialization_trials": 3}))
    store = tmp_path / "out" / "store.sqlite"
    done = run_cli(campaign, "--trials", "5", "--store", store, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "colour-match-pareto-pareto.png").stat().st_size > 10_000

    shown = json.loads(lab_cli("campaign", "show", store, "--json", cwd=tmp_path).stdout)
    trials = {t["trial"]: t for t in shown["trials"]}
    assert shown["best_rule"] == "model"
    assert shown["best_trials"] and set(shown["best_trials"]) <= set(trials)
    for idx in shown["best_trials"]:
        outcomes = trials[idx]["outcomes"]
        assert set(outcomes) == {"colour_error", "dye_volume", "peak_absorbance"}
        assert outcomes["peak_absorbance"] <= 2.0
        volume = sum(
            float(v.split()[0]) for k, v in trials[idx]["parameters"].items() if k != "temperature"
        )
        assert outcomes["dye_volume"] == pytest.approx(volume)

    text = lab_cli("campaign", "show", store, cwd=tmp_path).stdout
    assert f"Pareto front (the model's estimate): {len(shown['best_trials'])} trials" in text
