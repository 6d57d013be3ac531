"""Plate campaigns through PyLabRobot: a liquid handler (PyLabRobot's simulation backend,
the twin told what each well receives) fills a batch of wells, a plate reader (a backend
of ours behind PyLabRobot's interface) reads the plate, and every well is a trial and a
sample of its own; what the deck cannot do is refused before anything moves."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lab import ConfigError, Store, load_lab_config, run_campaign
from lab.cli import app
from lab.records.timeline import campaign_spans
from lab.store import TrialStatus
from tests.conftest import EXAMPLES, edit_yaml
from tests.system.test_fault_catalogue import Bench

pytestmark = pytest.mark.system

PLATE_EXAMPLE = EXAMPLES.parent / "plate_colour"


@pytest.fixture
def plate_dir(tmp_path: Path) -> Path:
    """The plate example with the target spectrum where it looks for it; Sobol, batches
    of 4."""
    out = tmp_path / "plate_colour"
    shutil.copytree(PLATE_EXAMPLE, out)
    (tmp_path / "colour_match").mkdir()
    shutil.copy(EXAMPLES / "target_spectrum.csv", tmp_path / "colour_match")
    edit_yaml(
        out / "campaign.yaml",
        lambda c: c.update(trials=8, batch=4, planner={"name": "sobol", "seed": 1}),
    )
    return out


def _store(path: Path) -> Store:
    return Store(str(path))


def test_a_plate_campaign_fills_a_batch_of_wells_and_reads_them_at_once(plate_dir: Path):
    db = plate_dir / "s.sqlite"
    result = run_campaign(plate_dir / "campaign.yaml", store=db)
    assert [t.status for t in result.trials] == [TrialStatus.COMPLETED] * 8
    store = _store(db)
    try:
        trials = store.trials("plate-colour")
        # a batch is one run: two plates' worth of reads, four wells each
        runs = [t.run_uid for t in trials]
        assert len(set(runs[:4])) == 1 and len(set(runs[4:])) == 1 and runs[0] != runs[4]
        assert [t.sample_id for t in trials] == [
            f"plate/{w}" for w in ["A1", "B1", "C1", "D1", "E1", "F1", "G1", "H1"]
        ]
        for t in trials:
            sample = store.sample(t.sample_id)
            assert sample is not None and sample["fate"] == "on the plate, read"
            composition = sample["composition"]
            assert composition["water"] == "100.0 microliter"
            for dye in ("cyan", "magenta", "yellow"):
                ul = float(t.parameters[dye].m_as("uL"))
                assert (dye in composition) == (ul > 0)
                if ul > 0:
                    assert float(composition[dye].split()[0]) == pytest.approx(ul)
        # each well's spectrum is its own: different mixtures, different errors
        errors = [t.outcomes["colour_error"] for t in trials]
        assert len(set(errors)) == 8
        docs = store.documents(runs[0])
        wells = [
            d["data"]["plate_reader-well"]
            for n, d in docs
            if n == "event" and "plate_reader-well" in d["data"]
        ]
        assert wells == ["A1", "B1", "C1", "D1"]
        start = next(d for n, d in docs if n == "start")
        assert start["plan_name"] == "run_plate" and start["trials"] == [0, 1, 2, 3]
        # the deck's tips and dye fall step by step; each step's device is timed
        tips = [
            d["data"]["liquid_handler-tips_left"]
            for n, d in docs
            if n == "event" and "liquid_handler-tips_left" in d["data"]
        ]
        assert tips == sorted(tips, reverse=True) and tips[0] > tips[-1]
        users = [
            d["data"]["step_device"] for n, d in docs if n == "event" and "step_device" in d["data"]
        ]
        assert users == ["liquid_handler"] * 6 + ["plate_reader"]
        spans = campaign_spans(store, "plate-colour")
        assert {s.device for s in spans} == {"liquid_handler", "plate_reader"}
        assert sorted({s.trial for s in spans}) == [0, 4]  # one span per step of a plate
    finally:
        store.close()
    # every well's measurement traceable in a bundle: its own suggestion and protocol
    cli = CliRunner()
    bundle = plate_dir / "bundle"
    exported = cli.invoke(app, ["campaign", "export", str(db), "plate-colour", str(bundle)])
    assert exported.exit_code == 0, exported.output
    verified = cli.invoke(app, ["campaign", "verify", str(bundle)])
    assert verified.exit_code == 0, verified.output
    assert "8 of 8 measurements (100%) traceable" in verified.output


def test_ax_proposes_a_plate_at_once_with_the_batch_pending(plate_dir: Path):
    edit_yaml(
        plate_dir / "campaign.yaml",
        lambda c: c.update(
            trials=8, batch=4, planner={"name": "ax", "seed": 0, "initialization_trials": 4}
        ),
    )
    db = plate_dir / "s.sqlite"
    result = run_campaign(plate_dir / "campaign.yaml", store=db)
    assert [t.status for t in result.trials] == [TrialStatus.COMPLETED] * 8
    store = _store(db)
    try:
        trials = store.trials("plate-colour")
        # the second plate is Bayesian optimisation's, four distinct proposals at once
        assert {t.planner for t in trials[4:]} == {"ax/ax:MBM"}
        assert len({tuple(float(q.m) for q in t.parameters.values()) for t in trials[4:]}) == 4
    finally:
        store.close()


def test_a_well_the_reader_cannot_read_fails_only_its_trial(plate_dir: Path):
    edit_yaml(
        plate_dir / "lab.yaml",
        lambda lab: lab["simulation"].update(
            devices={"plate_reader": {"unreadable_wells": ["B1"]}}
        ),
    )
    edit_yaml(plate_dir / "campaign.yaml", lambda c: c.update(trials=4))
    result = run_campaign(plate_dir / "campaign.yaml", store=plate_dir / "s.sqlite")
    statuses = [t.status for t in result.trials]
    assert statuses == [
        TrialStatus.COMPLETED,
        TrialStatus.FAILED,
        TrialStatus.COMPLETED,
        TrialStatus.COMPLETED,
    ]
    failed = result.trials[1]
    assert (
        failed.error == "well B1: the spectrum holds values that are not finite (NaN or infinity)"
    )
    assert result.stopped is None


def test_tips_that_run_out_stop_the_campaign_before_the_batch_moves(plate_dir: Path):
    def one_rack(lab: dict) -> None:
        labware = lab["devices"]["liquid_handler"]["labware"]
        del labware["tips_2"], labware["tips_3"]

    original = (plate_dir / "lab.yaml").read_text()
    edit_yaml(plate_dir / "lab.yaml", one_rack)
    edit_yaml(plate_dir / "campaign.yaml", lambda c: c.update(trials=24, batch=12))
    db = plate_dir / "s.sqlite"
    result = run_campaign(plate_dir / "campaign.yaml", store=db)
    assert result.stopped is not None
    assert (
        "tips and liquid_handler has" in result.stopped
        and "put fresh tip racks on the deck" in result.stopped
    )
    done = [t for t in result.trials if t.status == TrialStatus.COMPLETED]
    assert len(done) == 12  # 60 tips a batch of 12: the second finds 36 left
    # the batch the deck could not make never started: kept as proposals, none failed
    assert not [t for t in result.trials if t.status == TrialStatus.FAILED]
    assert [t.status for t in result.trials[len(done) : len(done) + 12]] == [
        TrialStatus.PROPOSED
    ] * 12
    # racks put back, the campaign resumes where it stopped: the kept batch first, on wells
    # no trial has used
    (plate_dir / "lab.yaml").write_text(original)
    resumed = run_campaign(plate_dir / "campaign.yaml", store=db)
    assert resumed.stopped is None
    assert [t.status for t in resumed.trials] == [TrialStatus.COMPLETED] * 24
    assert len({t.sample_id for t in resumed.trials}) == 24
    kept = slice(len(done), len(done) + 12)
    assert [t.parameters for t in resumed.trials[kept]] == [
        t.parameters for t in result.trials[kept]
    ]


def test_more_trials_than_wells_left_are_refused_and_no_well_is_used_twice(plate_dir: Path):
    db = plate_dir / "s.sqlite"
    store = _store(db)
    wells = [f"{r}{c}" for c in range(1, 13) for r in "ABCDEFGH"]
    for well in wells[:93]:  # an earlier campaign's
        store.add_sample(f"plate/{well}", "earlier", 0, {}, "on the plate, read")
    store.close()
    with pytest.raises(ConfigError) as refused:
        run_campaign(plate_dir / "campaign.yaml", store=db)
    assert "trials: 8 more trials need a well each and plate has 3 left" in str(refused.value)
    edit_yaml(plate_dir / "campaign.yaml", lambda c: c.update(trials=3, batch="plate"))
    result = run_campaign(plate_dir / "campaign.yaml", store=db)
    assert [t.status for t in result.trials] == [TrialStatus.COMPLETED] * 3
    assert result.stopped is None
    store = _store(db)
    try:
        trials = store.trials("plate-colour")
        assert [t.sample_id for t in trials] == ["plate/F12", "plate/G12", "plate/H12"]
        assert len({t.run_uid for t in trials}) == 1  # batch: plate, every well left at once
    finally:
        store.close()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda d: d["labware"]["plate"].update(type="cor_96_wellplate_360uL_Fbb"),
            "devices.liquid_handler.labware.plate.type: PyLabRobot has no labware "
            "'cor_96_wellplate_360uL_Fbb'; did you mean cor_96_wellplate_360uL_Fb",
        ),
        (
            lambda d: d["labware"]["plate"].update(slot=1),
            "devices.liquid_handler.labware.plate.slot: slot 1 holds tips already",
        ),
        (
            lambda d: d["labware"]["dyes"]["contents"]["A1"].update(volume="20 mL"),
            "devices.liquid_handler.labware.dyes.contents.A1.volume: 20 mL is more than the well holds",
        ),
        (
            lambda d: d["labware"]["dyes"]["contents"].update(
                M1={"reagent": "cyan", "volume": "1 mL"}
            ),
            "devices.liquid_handler.labware.dyes.contents.M1: dyes has no well 'M1'",
        ),
        (
            lambda d: d["labware"]["dyes"]["contents"]["A1"].update(reagent="teal"),
            "devices.liquid_handler.labware.dyes.contents.A1.reagent: unknown reagent 'teal'",
        ),
    ],
)
def test_a_deck_the_lab_cannot_have_is_refused_naming_the_field(plate_dir: Path, edit, words: str):
    edit_yaml(plate_dir / "lab.yaml", lambda lab: edit(lab["devices"]["liquid_handler"]))
    with pytest.raises(ConfigError) as refused:
        load_lab_config(plate_dir / "lab.yaml")
    assert words in " ".join(str(refused.value).split())


@pytest.mark.parametrize(
    ("steps", "words"),
    [
        (
            [{"step": "pipette", "reagent": "water", "volume": "500 uL"}],
            "steps.0.volume: 500 µL is more than a tip takes (400 µL)",
        ),
        (
            [{"step": "pipette", "reagent": "water", "volume": "300 uL"}] * 2,
            "parameters: at x = 1 µL the protocol fills a well with 601 µL, more than a well's 360 µL",
        ),
        (
            [{"step": "pipette", "reagent": "teal", "volume": "30 uL"}],
            "steps.0.reagent: no reservoir of liquid_handler holds 'teal'",
        ),
        (
            [
                {"step": "pipette", "reagent": "water", "volume": "30 uL"},
                {"step": "mix", "volume": "50 uL"},
            ],
            "steps.1.volume: mixes 50 µL from a well holding 30 µL by then",
        ),
    ],
)
def test_a_plate_protocol_beyond_the_deck_is_refused_before_anything_moves(
    plate_dir: Path, steps, words: str
):
    read = {"step": "read_plate", "wavelengths": {"min": "400 nm", "max": "700 nm"}}
    knob = {"step": "pipette", "reagent": "cyan", "volume": "{x}"}
    edit_yaml(plate_dir / "colour_plate.yaml", lambda p: p.update(steps=[*steps, knob, read]))
    edit_yaml(
        plate_dir / "campaign.yaml",
        lambda c: c.update(parameters={"x": {"min": "0 uL", "max": "1 uL"}}, constraints=[]),
    )
    db = plate_dir / "s.sqlite"
    out = CliRunner().invoke(
        app, ["campaign", "run", str(plate_dir / "campaign.yaml"), "--store", str(db)]
    )
    assert out.exit_code == 2
    assert words in " ".join(out.output.split())
    assert not db.exists() or not _store(db).trials("plate-colour")  # nothing ran


def test_the_emergency_stop_mid_plate_stops_the_handler_and_keeps_the_wells(plate_dir: Path):
    bench = Bench(plate_dir, plate_dir / "s.sqlite")
    try:
        handler = bench.lab.devices.others["liquid_handler"]
        run = threading.Thread(target=bench.run, args=(8,))
        run.start()
        deadline = time.monotonic() + 30
        while not handler.driver.busy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert handler.driver.busy, "the plate never started"
        report = bench.process.emergency_stop("test")
        run.join(30)
        assert report.devices["liquid_handler"] == "safe"
        assert bench.lab.call(handler.driver.state()) == "estop"
        trials = bench.store.trials(bench.name)
        assert [t.status for t in trials[:4]] == [TrialStatus.FAILED] * 4
        assert all("emergency stop" in (t.error or "") for t in trials[:4])
        # the wells the batch started are the ledger's: never used again
        for t in trials[:4]:
            sample = bench.store.sample(t.sample_id)
            assert sample is not None and sample["fate"] == "left on the plate by a failed batch"
        bench.safety.reset()
        assert bench.lab.call(handler.driver.state()) == "idle"
    finally:
        bench.close()


def test_diagnostics_check_tips_a_dispense_read_back_and_the_blank(plate_dir: Path):
    db = plate_dir / "s.sqlite"
    args = ["diagnose", "--lab", str(plate_dir / "lab.yaml"), "--store", str(db), "--json"]
    devices = ["--device", "liquid_handler", "--device", "plate_reader"]
    result = CliRunner().invoke(app, [*args, *devices])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{") :])
    checks = {(r["device"], r["check"]): r for r in out["results"]}
    assert checks[("liquid_handler", "tip_pickup")]["status"] == "pass"
    dispense = checks[("liquid_handler", "dispense")]
    assert dispense["status"] == "pass" and dispense["unit"] == "%"
    assert dispense["magnitude"] < 5.0  # 20 uL reads twice 10 uL
    assert checks[("plate_reader", "blank")]["status"] == "pass"
    # the two wells the check filled are the ledger's, so a campaign starts after them
    store = _store(db)
    try:
        assert sorted(store.sample_ids("plate/")) == ["plate/G12", "plate/H12"]
    finally:
        store.close()
    edit_yaml(plate_dir / "campaign.yaml", lambda c: c.update(trials=95))
    with pytest.raises(ConfigError) as refused:
        run_campaign(plate_dir / "campaign.yaml", store=db)
    assert "plate has 94 left" in str(refused.value)
