"""The reaction-yield example: an HPLC-like analyser's reading is the objective, through
the real lab loop (analyser on a pty, station over OPC UA)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab.api import run_campaign
from lab.records.measurement import measurement_from_documents
from lab.store import Store
from tests.conftest import edit_yaml

pytestmark = pytest.mark.system

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "snar_yield"


@pytest.fixture
def reaction_dir(tmp_path: Path) -> Path:
    out = tmp_path / "snar_yield"
    shutil.copytree(EXAMPLE, out)
    edit_yaml(out / "lab.yaml", lambda lab: lab["simulation"].update(clock_speed=2000))
    return out


def test_the_analysers_yield_is_the_objective(reaction_dir: Path, tmp_path: Path):
    edit_yaml(reaction_dir / "campaign.yaml", lambda c: c.update(planner={"name": "sobol"}))
    store = tmp_path / "s.sqlite"
    result = run_campaign(reaction_dir / "campaign.yaml", trials=3, store=store)
    assert [t.status for t in result.trials] == ["completed"] * 3
    db = Store(store)
    try:
        for trial in result.trials:
            docs = db.documents(trial.run_uid)
            measured = measurement_from_documents(docs, "spectrometer", {})
            assert measured.absorbance is None  # the protocol took no spectrum
            hplc_yield = measured.value("yield")
            assert f"{hplc_yield.units}" == "percent"
            assert trial.outcomes == {"ortho_yield": pytest.approx(hplc_yield.m)}
            assert 0 <= trial.outcomes["ortho_yield"] <= 100
            descriptor = next(d for n, d in docs if n == "descriptor" and d["name"] == "primary")
            assert descriptor["data_keys"]["hplc-purity"]["units"] == "percent"
    finally:
        db.close()


def test_a_spectral_objective_without_a_spectrum_fails_the_trial_with_the_reason(
    reaction_dir: Path, tmp_path: Path
):
    def edit(campaign: dict) -> None:
        campaign["planner"] = {"name": "sobol"}
        campaign["objectives"] = [{"name": "peak", "kind": "max_absorbance"}]

    edit_yaml(reaction_dir / "campaign.yaml", edit)
    result = run_campaign(reaction_dir / "campaign.yaml", trials=1, store=tmp_path / "s.sqlite")
    (trial,) = result.trials
    assert trial.status == "failed"
    assert "needs a spectrum" in (trial.error or "")


def test_a_seeded_campaign_repeats_itself_exactly_and_replays(reaction_dir: Path, tmp_path: Path):
    """The same seed, the same proposals and outcomes, to the last bit, though the
    simulated clock runs 2000x (a command's few milliseconds of latency are seconds of lab
    time): the station's own timer stirs each vial exactly its time, and a settled block
    is booked at its setpoint. Proposals are made ahead, while the trial before runs."""
    from lab.campaigns.replay import replay
    from lab.files.campaign_file import load_campaign

    edit_yaml(
        reaction_dir / "campaign.yaml",
        lambda c: c.update(planner={"name": "ax", "seed": 3, "initialization_trials": 3}),
    )
    runs = []
    for run in ("first", "second"):
        store = tmp_path / f"{run}.sqlite"
        result = run_campaign(reaction_dir / "campaign.yaml", trials=5, store=store)
        assert result.stopped is None
        runs.append([(t.parameters, t.outcomes, t.planner) for t in result.trials])
    assert runs[0] == runs[1]
    assert [planner for _, _, planner in runs[0]][-1] == "ax/ax:MBM"  # the model proposed
    db = Store(tmp_path / "second.sqlite")
    try:
        report = replay(db, load_campaign(reaction_dir / "campaign.yaml"))
        # the model's proposals were made with the trial before still running
        pending = [t.suggestion["pending_trials"] for t in db.trials("snar-yield")]
    finally:
        db.close()
    assert len(report.compared) == 5 and report.differing == []
    assert pending[3:] == [[2], [3]]
