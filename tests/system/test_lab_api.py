"""The Python API scientists script against: pluggable chemistry, faults, safe state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pint
import pytest

from lab import (
    CampaignRunner,
    ConfigError,
    RunnerEvents,
    Store,
    build_lab,
    load_campaign,
    load_lab_config,
)
from lab.api import open_lab, prepare, run_campaign
from lab.files.campaign_file import CampaignConfig
from lab.records.measurement import measurement_from_documents
from lab.runtime.lab import threaded_run_engine
from lab.runtime.process import LabProcess
from tests.conftest import edit_yaml

pytestmark = pytest.mark.system


def test_a_lab_can_plug_in_its_own_ground_truth(example_dir: Path, tmp_path: Path):
    edit_yaml(
        example_dir / "lab.yaml",
        lambda d: d["simulation"].update(chemistry="tests.system.flat_chemistry:flat"),
    )
    result = run_campaign(example_dir / "campaign.yaml", trials=1, store=tmp_path / "s.sqlite")
    assert result.stopped is None
    [trial] = result.trials
    db = Store(tmp_path / "s.sqlite")
    m = measurement_from_documents(db.documents(trial.run_uid), "spectrometer", {})
    db.close()
    assert np.allclose(m.absorbance, 0.3, atol=0.03)  # the flat model, plus detector noise


def test_an_unloadable_ground_truth_is_a_config_error(example_dir: Path):
    edit_yaml(
        example_dir / "lab.yaml", lambda d: d["simulation"].update(chemistry="nowhere.module:fn")
    )
    with pytest.raises(ConfigError, match=r"cannot load 'nowhere\.module:fn'"):
        run_campaign(example_dir / "campaign.yaml", trials=1)


def test_a_planner_that_cannot_model_the_campaign_is_a_config_error(tmp_path: Path):
    snar = Path(__file__).resolve().parents[2] / "examples" / "snar_yield" / "campaign.yaml"
    with pytest.raises(ConfigError, match="planner: spectral: needs exactly one objective"):
        run_campaign(snar, planner="spectral", trials=1, store=tmp_path / "s.sqlite")


def test_a_device_fault_stops_the_campaign_safely_and_a_resume_recovers(
    example_dir: Path, tmp_path: Path
):
    prepared = prepare(example_dir / "campaign.yaml")
    store = Store(tmp_path / "s.sqlite")
    lab = build_lab(prepared.lab, store, run_engine=threaded_run_engine())
    world = lab.world
    assert world is not None
    process = LabProcess.of(lab).start()  # the latch, its executor, the interlocks
    executor = process.executor
    assert executor is not None
    runner = CampaignRunner(lab, prepared.campaign, prepared.protocol, store, executor)
    runner.run(trials=1)
    world.station.pumps[1].jammed = True  # the next dispense fails, the vial in the slot
    result = runner.run(trials=3)
    assert result.stopped is not None and "pump 1 jammed" in result.stopped
    trials = store.trials(prepared.campaign.name)
    assert [t.status for t in trials] == ["completed", "failed"]  # nothing after the fault
    assert trials[1].error is not None and "DeviceFault" in trials[1].error
    assert trials[1].run_uid is not None
    names = [n for n, _ in store.documents(trials[1].run_uid)]
    assert names[0] == "start" and names[-1] == "stop"  # the failed run is kept too
    assert store.documents(trials[1].run_uid)[-1][1]["exit_status"] == "fail"
    station = world.station
    assert station.rpm == 0 and station.setpoint_c == station.ambient_c  # read back: safe
    stray = world.workcell.vials_at["synthesis_station"]
    assert stray is not None  # the fault left the vial in the slot

    world.station.pumps[1].jammed = False  # maintenance fixed the pump; it resumes
    result = runner.run(trials=3)
    assert result.stopped is None, result.stopped
    assert [t.status for t in store.trials(prepared.campaign.name)] == [
        "completed",
        "failed",
        "completed",
    ]
    assert world.workcell.vials_at["synthesis_station"] is None
    assert stray.id in [v.id for v in world.workcell.discarded]
    ledger = store.sample(stray.id)
    assert ledger is not None and ledger["trial"] == 1
    assert ledger["fate"].startswith("waste: cleared after a fault")
    cleared = [
        r for r in store.runs(campaign=prepared.campaign.name) if r.plan_name == "clear_workcell"
    ]
    assert len(cleared) == 1 and cleared[0].exit_status == "success"
    process.close()
    lab.close()


def test_campaign_file_that_changed_is_not_silently_mixed(example_dir: Path, tmp_path: Path):
    store = tmp_path / "s.sqlite"
    run_campaign(example_dir / "campaign.yaml", trials=1, store=store)
    edit_yaml(example_dir / "campaign.yaml", lambda d: d["parameters"]["cyan"].update(max="2 mL"))
    with pytest.raises(Exception, match="different definition"):
        run_campaign(example_dir / "campaign.yaml", trials=2, store=store)
    assert len(Store(store).trials(load_campaign(example_dir / "campaign.yaml").name)) == 1
    assert load_lab_config(example_dir / "lab.yaml").name == "sim-colour-lab"


def test_runs_by_hand_are_recorded_and_scan_ids_continue(example_dir: Path, tmp_path: Path):
    """bluesky's own plans, with bare numbers in each device's declared unit."""
    import bluesky.plan_stubs as bps
    import bluesky.plans as bp

    def carry(arm, source: str, destination: str):
        yield from bps.mv(arm, source)
        yield from bps.mv(arm.gripper, "closed")
        yield from bps.mv(arm, destination)
        yield from bps.mv(arm.gripper, "open")

    store = tmp_path / "hand.sqlite"
    lab = open_lab(example_dir / "lab.yaml", store)
    try:
        d = lab.devices
        lab.run_engine(carry(d.arm, "rack", "spectrometer"))  # a vial to measure
        lab.run_engine(bps.mv(d.station.heater, 40))
        assert lab.run_engine.md["scan_id"] == 0
        lab.run_engine(bp.scan([d.spectrometer], d.station.heater, 30, 60, 4))
        lab.run_engine(bp.count([d.spectrometer, d.arm]))
        lab.run_engine(carry(d.arm, "spectrometer", "waste"))
    finally:
        lab.close()
    lab = open_lab(example_dir / "lab.yaml", store)
    try:
        lab.run_engine(bp.count([lab.devices.station.heater]))
    finally:
        lab.close()
    db = Store(store)
    runs = list(reversed(db.runs()))
    assert [(r.scan_id, r.plan_name, r.exit_status) for r in runs] == [
        (1, "scan", "success"),
        (2, "count", "success"),
        (3, "count", "success"),
    ]
    events = [doc for name, doc in db.documents(runs[0].uid) if name == "event"]
    assert [round(e["data"]["station-heater"]) for e in events] == [30, 40, 50, 60]
    assert all(len(e["data"]["spectrometer-absorbance"]) == 101 for e in events)
    db.close()


@pytest.mark.parametrize(
    ("failures", "trials", "ran", "words"),
    [
        ({"on_failure": "skip", "max_consecutive": 2}, 4, 2, "2 trials failed in a row"),
        ({"on_failure": "stop"}, 3, 1, "(failures.on_failure: stop)"),
    ],
)
def test_failed_trials_follow_the_campaigns_policy(
    example_dir: Path, tmp_path: Path, failures, trials, ran, words
):
    edit_yaml(
        example_dir / "lab.yaml",
        lambda d: d["simulation"].update(chemistry="tests.system.flat_chemistry:broken"),
    )
    edit_yaml(example_dir / "campaign.yaml", lambda d: d.update(failures=failures))
    result = run_campaign(example_dir / "campaign.yaml", trials=trials, store=tmp_path / "s.db")
    assert len(result.trials) == ran
    assert all("not finite" in (t.error or "") for t in result.trials)
    assert result.stopped is not None and words in result.stopped


def test_a_failed_trial_can_pause_the_campaign_until_resumed(example_dir: Path, tmp_path: Path):
    import threading
    import time

    edit_yaml(
        example_dir / "lab.yaml",
        lambda d: d["simulation"].update(chemistry="tests.system.flat_chemistry:broken"),
    )
    edit_yaml(example_dir / "campaign.yaml", lambda d: d.update(failures={"on_failure": "pause"}))
    paused: list[str] = []

    class Events(RunnerEvents):
        def attached(self, runner: CampaignRunner) -> None:
            self.runner = runner

        def paused(self, reason: str) -> None:
            paused.append(reason)

    events = Events()
    store = tmp_path / "s.db"
    results: list = []
    worker = threading.Thread(
        target=lambda: results.append(
            run_campaign(example_dir / "campaign.yaml", trials=2, store=store, events=events)
        )
    )
    worker.start()
    deadline = time.monotonic() + 60
    while not paused and time.monotonic() < deadline:
        time.sleep(0.05)
    assert paused and "trial 0 failed" in paused[0] and "on_failure: pause" in paused[0]
    time.sleep(1.0)  # held: nothing new is proposed while paused
    assert events.runner.executor.state == "paused"
    assert len(Store(store).trials("colour-match")) == 1
    events.runner.executor.resume()
    worker.join(60)
    assert [t.status for t in results[0].trials] == ["failed", "failed"]


def test_each_vial_sees_only_its_own_trial(example_dir: Path, tmp_path: Path):
    """A hot trial, then a cool one: the cool trial's vial never meets the heat the first
    left in the block, and its history (block and stirrer after each step) is recorded."""
    from devices import parse_quantity
    from lab import load_protocol
    from protocols import run_protocol

    template = load_protocol(example_dir / "colour_mix.yaml")

    def recipe(celsius: float):
        volumes = {n: parse_quantity("0.5 mL") for n in ("cyan", "magenta", "yellow")}
        return template.fill({**volumes, "temperature": parse_quantity(f"{celsius} degC")})

    lab = open_lab(example_dir / "lab.yaml", tmp_path / "s.sqlite")
    try:
        assert lab.world is not None
        lab.run_engine(run_protocol(lab.devices, recipe(80)))
        lab.run_engine(run_protocol(lab.devices, recipe(30)))
        hot, cool = lab.world.workcell.discarded[-2:]
        assert hot.temperature_c == pytest.approx(80, abs=1)
        assert cool.temperature_c <= 30.5  # not the 80 degC block it would have met
        assert lab.store is not None
        run = lab.store.runs()[0]  # the latest
        history = [
            d["data"]["station-heater"]
            for n, d in lab.store.documents(run.uid)
            if n == "event" and "station-heater" in d["data"]
        ]
        assert len(history) >= len(template.steps) and max(history) <= 30.5
    finally:
        lab.close()


def test_a_campaign_defined_in_python_returns_quantities_and_the_planners_analyses(
    example_dir: Path, tmp_path: Path
):
    ureg = pint.get_application_registry()
    campaign = CampaignConfig(
        name="from-python",
        lab=example_dir / "lab.yaml",
        protocol=example_dir / "colour_mix.yaml",
        planner={"name": "ax", "initialization_trials": 2},
        parameters={
            "cyan": {"min": 0 * ureg.mL, "max": 3 * ureg.mL},
            "magenta": {"min": 0 * ureg.mL, "max": 3 * ureg.mL},
            "yellow": {"min": 0 * ureg.mL, "max": 3000 * ureg.uL},
            "temperature": {"min": ureg.Quantity(25, "degC"), "max": ureg.Quantity(80, "degC")},
        },
        constraints=["cyan + magenta + yellow <= 6 mL"],
        objectives=[
            {
                "name": "colour_error",
                "kind": "spectral_distance",
                "target": example_dir / "target_spectrum.csv",
            }
        ],
    )
    result = run_campaign(campaign, trials=3, store=tmp_path / "s.sqlite")
    assert [t.status for t in result.trials] == ["completed"] * 3

    frame = result.dataframe()
    assert list(frame["trial"]) == [0, 1, 2]
    # each parameter in the unit of its bounds, as pint abbreviates it
    assert {"cyan [mL]", "yellow [µL]", "temperature [°C]", "colour_error"} <= set(frame.columns)
    assert frame["yellow [µL]"].between(0, 3000).all()

    best = result.best[0].parameters
    assert best["temperature"].check("[temperature]") and best["cyan"].check("[volume]")
    assert result.planner is not None
    assert len(result.planner.summary()) == 3
    (estimate,) = result.planner.predict([best])
    mean, sem = estimate["colour_error"]
    assert 0 <= mean < 1 and sem >= 0
