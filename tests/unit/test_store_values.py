"""Numbers with units in the store, campaigns known by their files' content, a store
written by an older version brought up to date, and the record as pandas DataFrames."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path

import pint
import pytest
import sqlalchemy

from devices import parse_quantity
from lab import CampaignMismatch, Store, load_campaign
from lab.campaigns.planning import campaign_definition
from lab.data import open_data

ureg = pint.get_application_registry()


def test_parameters_and_outcomes_are_kept_as_numbers_with_units(store_url: str):
    store = Store(store_url)
    store.open_campaign("c", {"x": 1}, {})
    params = {"temperature": ureg.Quantity(60.0, "degC"), "cyan": ureg.Quantity(1.5, "mL")}
    store.add_trial("c", 0, params, "ax/ax:Sobol", suggestion={"seed": 3}, session=1)
    store.update_trial(
        "c",
        0,
        outcomes={"yield": ureg.Quantity(41.5, "percent"), "error": 0.25},
        status="completed",
    )
    with store.engine.connect() as c:
        rows = c.execute(
            sqlalchemy.text(
                "SELECT kind, name, magnitude, unit FROM trial_values ORDER BY kind, name"
            )
        ).fetchall()
        kinds = c.execute(
            sqlalchemy.text(
                "SELECT DISTINCT typeof(magnitude) FROM trial_values"
                if store.engine.dialect.name == "sqlite"
                else "SELECT DISTINCT pg_typeof(magnitude)::text FROM trial_values"
            )
        ).scalars()
        assert set(kinds) in ({"real"}, {"double precision"})  # numbers, not text
    assert [tuple(r) for r in rows] == [
        ("outcome", "error", 0.25, ""),
        ("outcome", "yield", 41.5, "percent"),
        ("parameter", "cyan", 1.5, "milliliter"),
        ("parameter", "temperature", 60.0, "degree_Celsius"),
    ]
    store.close()

    again = Store(store_url)
    [trial] = again.trials("c")
    assert trial.parameters == params
    assert list(trial.parameters) == ["temperature", "cyan"]  # in the order given
    assert list(trial.outcomes) == ["yield", "error"]
    assert trial.outcomes == {"yield": 41.5, "error": 0.25}
    assert trial.outcome_quantities()["yield"] == ureg.Quantity(41.5, "percent")
    assert (trial.suggestion, trial.session) == ({"seed": 3}, 1)
    assert again.next_session("c") == 2
    again.update_trial("c", 0, outcomes=None)
    assert again.trial("c", 0).outcomes is None
    again.close()


def _legacy_store(path: Path, definition: dict) -> None:
    """A store as the version before typed values wrote it."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE campaigns (name VARCHAR PRIMARY KEY, created FLOAT NOT NULL,
            definition JSON NOT NULL, lab JSON NOT NULL, best JSON);
        CREATE TABLE trials (campaign VARCHAR NOT NULL REFERENCES campaigns (name),
            idx INTEGER NOT NULL, status VARCHAR NOT NULL, parameters JSON NOT NULL,
            planner VARCHAR NOT NULL, outcomes JSON, error TEXT, run_uid VARCHAR,
            sample_id VARCHAR, proposed FLOAT NOT NULL, finished FLOAT, decided_by VARCHAR,
            PRIMARY KEY (campaign, idx));
        """
    )
    db.execute("INSERT INTO campaigns VALUES ('c', 0, ?, '{}', NULL)", (json.dumps(definition),))
    db.execute(
        "INSERT INTO trials VALUES ('c', 0, 'completed', ?, 'sobol/sobol', ?, NULL, 'r0',"
        " 'V1', 0, 1, NULL)",
        (
            json.dumps({"cyan": "1.5 milliliter", "temperature": "60.0 degree_Celsius"}),
            json.dumps({"yield": 41.5, "colour_error": 0.03}),
        ),
    )
    db.execute(
        "INSERT INTO trials VALUES ('c', 1, 'failed', ?, 'sobol/sobol', NULL, 'jam', NULL,"
        " NULL, 0, 1, NULL)",
        (json.dumps({"cyan": "nan milliliter", "temperature": "30.0 degree_Celsius"}),),
    )
    db.commit()
    db.close()


def test_a_store_of_the_older_version_is_migrated_in_place(tmp_path: Path):
    definition = {
        "protocol": "/old/checkout/colour_mix.yaml",
        "objectives": [
            {"name": "yield", "kind": "measured", "unit": "%", "target": None},
            {"name": "colour_error", "kind": "spectral_distance", "target": "/old/t.csv"},
        ],
    }
    _legacy_store(tmp_path / "old.sqlite", definition)
    store = Store(tmp_path / "old.sqlite")
    first, second = store.trials("c")
    assert first.parameters == {
        "cyan": ureg.Quantity(1.5, "mL"),
        "temperature": ureg.Quantity(60.0, "degC"),
    }
    assert first.outcome_quantities() == {
        "yield": ureg.Quantity(41.5, "percent"),  # the unit its objective declared
        "colour_error": ureg.Quantity(0.03, ""),
    }
    assert (second.status, second.outcomes, second.error) == ("failed", None, "jam")
    assert math.isnan(second.parameters["cyan"].m)  # a planner's NaN, kept as it was
    columns = {c["name"] for c in sqlalchemy.inspect(store.engine).get_columns("trials")}
    assert not {"parameters", "outcomes"} & columns
    store.close()
    assert len(Store(tmp_path / "old.sqlite").trials("c")) == 2  # a second open: nothing to do


def _campaign_copy(tmp_path: Path, example_dir: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(example_dir, folder)
    return folder / "campaign.yaml"


def test_a_campaign_is_known_by_its_files_content_not_their_path(example_dir: Path, tmp_path: Path):
    store = Store(tmp_path / "s.sqlite")
    here = load_campaign(_campaign_copy(tmp_path, example_dir, "here"))
    definition = campaign_definition(here, "sobol", 1)
    assert definition["protocol"]["name"] == "colour_mix.yaml"
    assert store.open_campaign("colour-match", definition, {}) is False
    store.add_trial("colour-match", 0, {"cyan": ureg.Quantity(1, "mL")}, "sobol/sobol")

    moved = load_campaign(_campaign_copy(tmp_path, example_dir, "moved"))
    assert store.open_campaign("colour-match", campaign_definition(moved, "sobol", 1), {})

    edited_file = _campaign_copy(tmp_path, example_dir, "edited")
    protocol = edited_file.parent / "colour_mix.yaml"
    protocol.write_text(protocol.read_text().replace("600 rpm", "500 rpm"))
    edited = load_campaign(edited_file)
    with pytest.raises(CampaignMismatch, match="changed: protocol"):
        store.open_campaign("colour-match", campaign_definition(edited, "sobol", 1), {})
    store.close()


def test_a_store_of_paths_continues_with_the_files_as_they_are_now(
    example_dir: Path, tmp_path: Path
):
    campaign = load_campaign(example_dir / "campaign.yaml")
    definition = campaign_definition(campaign, "sobol", 1)
    legacy = {
        **definition,
        "protocol": "/old/checkout/colour_mix.yaml",
        "objectives": [{**o, "target": "/old/checkout/t.csv"} for o in definition["objectives"]],
    }
    store = Store(tmp_path / "s.sqlite")
    store.open_campaign("colour-match", legacy, {})
    store.add_trial("colour-match", 0, {"cyan": ureg.Quantity(1, "mL")}, "sobol/sobol")
    assert store.open_campaign("colour-match", definition, {}) is True
    assert store.campaign("colour-match")["definition"] == definition  # now by content
    with pytest.raises(CampaignMismatch, match="changed: planner"):
        store.open_campaign("colour-match", campaign_definition(campaign, "ax", 1), {})
    store.close()


def test_the_record_reads_as_dataframes_with_units(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite")
    store.open_campaign("c", {"x": 1}, {})
    for i in range(3):
        store.add_trial("c", i, {"cyan": parse_quantity(f"{i} mL")}, "ax/ax:Sobol")
        store.update_trial(
            "c", i, outcomes={"yield": ureg.Quantity(10.0 * i, "%")}, status="completed"
        )
        store.add_sample(f"V{i}", "c", i, {"cyan": f"{i} milliliter"}, "waste")
    store.close()

    with open_data(tmp_path / "s.sqlite") as data:
        trials = data.trials()
        samples = data.samples("c")
        with pytest.raises(KeyError, match="no campaign 'd' here"):
            data.trials("d")
    assert list(trials["cyan [mL]"]) == [0.0, 1.0, 2.0]
    assert list(trials["yield [%]"]) == [0.0, 10.0, 20.0]
    assert trials.attrs["units"] == {"cyan [mL]": "milliliter", "yield [%]": "percent"}
    assert list(trials["generator"]) == ["ax:Sobol"] * 3
    assert list(samples["sample"]) == ["V0", "V1", "V2"]
    assert samples.attrs["units"] == {"cyan [mL]": "milliliter"}
