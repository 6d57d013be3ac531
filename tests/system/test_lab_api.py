"""The Python API scientists script against: pluggable chemistry, faults, safe state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lab import (
    CampaignRunner,
    ConfigError,
    InProcessExecutor,
    Store,
    build_lab,
    load_campaign,
    load_lab_config,
)
from lab.api import prepare, run_campaign
from lab.compose import threaded_run_engine
from lab.measurement import measurement_from_documents
from protocols import PLANS
from simulators import Vial
from tests.conftest import edit_yaml

pytestmark = pytest.mark.system


def test_a_lab_can_plug_in_its_own_ground_truth(example_dir: Path, tmp_path: Path):
    edit_yaml(
        example_dir / "lab.yaml", lambda d: d.update(chemistry="tests.system.flat_chemistry:flat")
    )
    result = run_campaign(example_dir / "campaign.yaml", trials=1, store=tmp_path / "s.sqlite")
    assert result.stopped is None
    [trial] = result.trials
    db = Store(tmp_path / "s.sqlite")
    m = measurement_from_documents(db.documents(trial.run_uid), "spectrometer", {})
    db.close()
    assert np.allclose(m.absorbance, 0.3, atol=0.03)  # the flat model, plus detector noise


def test_an_unloadable_ground_truth_is_a_config_error(example_dir: Path):
    edit_yaml(example_dir / "lab.yaml", lambda d: d.update(chemistry="nowhere.module:fn"))
    with pytest.raises(ConfigError, match=r"cannot load 'nowhere\.module:fn'"):
        run_campaign(example_dir / "campaign.yaml", trials=1)


def test_a_device_fault_stops_the_campaign_in_a_safe_state(example_dir: Path, tmp_path: Path):
    prepared = prepare(example_dir / "campaign.yaml")
    store = Store(tmp_path / "s.sqlite")
    lab = build_lab(prepared.lab, store, run_engine=threaded_run_engine())
    world = lab.world
    executor = InProcessExecutor(lab.run_engine, lab.devices, PLANS)
    runner = CampaignRunner(lab, prepared.campaign, prepared.protocol, store, executor)
    runner.run(trials=1)
    # a stray vial blocks the station's slot: the arm cannot set the next one down
    world.workcell.vials_at["synthesis_station"] = Vial("STRAY", 10.0)
    result = runner.run(trials=3)
    assert result.stopped is not None
    assert "synthesis_station is occupied" in result.stopped
    trials = store.trials(prepared.campaign.name)
    assert [t.status for t in trials] == ["completed", "failed"]  # nothing after the fault
    assert "DeviceFault" in trials[1].error
    names = [n for n, _ in store.documents(trials[1].run_uid)]
    assert names[0] == "start" and names[-1] == "stop"  # the failed run is kept too
    stop = store.documents(trials[1].run_uid)[-1][1]
    assert stop["exit_status"] == "fail"
    station = world.station
    assert station.rpm == 0 and station.setpoint_c == station.ambient_c  # safe state
    executor.close()
    lab.close()


def test_campaign_file_that_changed_is_not_silently_mixed(example_dir: Path, tmp_path: Path):
    store = tmp_path / "s.sqlite"
    run_campaign(example_dir / "campaign.yaml", trials=1, store=store)
    edit_yaml(example_dir / "campaign.yaml", lambda d: d["parameters"]["cyan"].update(max="2 mL"))
    with pytest.raises(Exception, match="different definition"):
        run_campaign(example_dir / "campaign.yaml", trials=2, store=store)
    assert len(Store(store).trials(load_campaign(example_dir / "campaign.yaml").name)) == 1
    assert load_lab_config(example_dir / "lab.yaml").name == "sim-colour-lab"
