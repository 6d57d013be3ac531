"""The amine-choice example: a campaign that chooses which reagent the station's pump
charges, through the real lab loop; preflight checks every choice against the lab before
anything moves, and the record, its bundle and its replay keep the choices by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from lab.api import run_campaign
from lab.campaigns.replay import replay
from lab.data import open_data
from lab.errors import ConfigError
from lab.outputs.bundle import export_campaign, stored_campaign
from lab.store import Store
from tests.conftest import edit_yaml

pytestmark = pytest.mark.system

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "amine_choice"
AMINES = {"pyrrolidine", "piperidine", "morpholine"}


@pytest.fixture
def amine_dir(tmp_path: Path) -> Path:
    out = tmp_path / "amine_choice"
    shutil.copytree(EXAMPLE, out)
    edit_yaml(out / "lab.yaml", lambda lab: lab["simulation"].update(clock_speed=4000))
    return out


def test_the_chosen_amine_is_what_the_pump_charges_and_the_record_keeps_it(
    amine_dir: Path, tmp_path: Path
):
    edit_yaml(
        amine_dir / "campaign.yaml",
        lambda c: c.update(planner={"name": "ax", "seed": 0, "initialization_trials": 4}),
    )
    store = tmp_path / "s.sqlite"
    result = run_campaign(amine_dir / "campaign.yaml", trials=5, store=store)  # one model's
    assert [t.status for t in result.trials] == ["completed"] * 5
    db = Store(store)
    try:
        for t in db.trials("amine-choice"):
            amine = t.parameters["amine"]
            assert amine in AMINES
            composition = db.sample(t.sample_id)["composition"]  # what the pumps gave
            assert set(composition) == {"solvent", "substrate", amine}
            assert composition[amine].startswith(str(t.parameters["amine_volume"].m))
        bundle = export_campaign(db, "amine-choice", tmp_path / "bundle")
    finally:
        db.close()
    trials = pd.read_parquet(bundle / "trials.parquet")
    assert isinstance(trials["amine"].dtype, pd.CategoricalDtype)
    assert set(trials["amine"]) <= AMINES
    assert "amine_volume [mL]" in pd.read_csv(bundle / "trials.csv").columns
    with open_data(bundle) as data:
        campaign = stored_campaign(data.store, "amine-choice", tmp_path)
        report = replay(data.store, campaign)
    assert not report.differing  # the same seed proposes the same choices again
    assert [t.recorded["amine"] for t in report.trials] == [
        t.parameters["amine"] for t in result.trials
    ]


def test_a_choice_that_names_no_reagent_of_the_lab_is_refused_before_anything_moves(
    amine_dir: Path, tmp_path: Path
):
    edit_yaml(
        amine_dir / "campaign.yaml",
        lambda c: c["parameters"]["amine"].update(
            choices=["pyrrolidine", "diethylamine"]  # in the descriptors, on no pump
        ),
    )
    with pytest.raises(ConfigError, match=r"parameters\.amine\.choices: .*diethylamine") as err:
        run_campaign(amine_dir / "campaign.yaml", trials=2, store=tmp_path / "s.sqlite")
    assert "with amine = diethylamine" in str(err.value)
    assert not (tmp_path / "s.sqlite").exists() or not Store(tmp_path / "s.sqlite").trials(
        "amine-choice"
    )
