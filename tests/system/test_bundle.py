"""A campaign's record: the provenance each run carries, the exported bundle, read by
other tools, verified, tampered with, and replayed through a fresh planner."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import event_model
import pyarrow.parquet as pq
import pytest
from bluesky.callbacks.core import CollectThenCompute

from lab import Store
from lab.api import run_campaign
from lab.data import open_data
from tests.conftest import copy_example, edit_yaml
from tests.system.lab_process import lab_command as lab_cli

pytestmark = pytest.mark.system


class _Collected(CollectThenCompute):
    """A bluesky consumer: it sees each run through to its stop document."""

    seen: tuple[str, int] | None = None

    def compute(self) -> None:
        self.seen = (self._start_doc["uid"], len(self._events))


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Five trials of the Ax planner (three of them its model's) in two sessions, run once
    for the module: the example's folder and the store."""
    root = tmp_path_factory.mktemp("recording")
    example_dir = copy_example(root / "colour_match")
    edit_yaml(
        example_dir / "campaign.yaml",
        lambda d: d.update(planner={"name": "ax", "seed": 3, "initialization_trials": 2}),
    )
    store = root / "store.sqlite"
    run_campaign(example_dir / "campaign.yaml", trials=3, store=store)
    result = run_campaign(example_dir / "campaign.yaml", trials=5, store=store)
    assert [t.status for t in result.trials] == ["completed"] * 5
    return example_dir, store


@pytest.fixture
def example(recording: tuple[Path, Path]) -> Path:
    """The recorded campaign's folder."""
    return recording[0]


@pytest.fixture
def recorded(recording: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the recorded store (with its write-ahead log, if any), the test's own."""
    for part in recording[1].parent.glob(f"{recording[1].name}*"):
        shutil.copy(part, tmp_path / part.name)
    return tmp_path / recording[1].name


def test_every_run_carries_its_provenance(recorded: Path, example: Path):
    db = Store(recorded)
    trials = db.trials("colour-match")
    assert [t.session for t in trials] == [1, 1, 1, 2, 2]
    assert trials[-1].planner == "ax/ax:MBM"
    start = db.documents(trials[-1].run_uid)[0][1]
    provenance = start["provenance"]
    protocol_text = (example / "colour_mix.yaml").read_bytes()
    assert provenance["files"]["protocol"] == {
        "name": "colour_mix.yaml",
        "sha256": hashlib.sha256(protocol_text).hexdigest(),
    }
    assert db.file(provenance["files"]["lab"]["sha256"]).text == (example / "lab.yaml").read_text()
    assert provenance["campaign_identity"] == db.campaign("colour-match")["identity"]
    assert provenance["suggestion"]["generator"] == "ax:MBM"
    assert provenance["suggestion"]["seed"] == 3
    # proposed ahead, while trial 3 ran: it knew three results, and trial 3 as pending
    assert provenance["suggestion"]["observations"] == 3
    assert provenance["suggestion"]["pending_trials"] == [3]
    assert set(provenance["suggestion"]["prediction"]) == {"colour_error"}
    assert set(provenance["devices"]) == {"arm", "station", "spectrometer"}
    assert all(d["firmware"] and d["serial_number"] for d in provenance["devices"].values())
    assert provenance["software"]["version"] and provenance["software"]["libraries"]["bluesky"]
    db.close()


def test_an_exported_bundle_verifies_reads_back_and_replays(recorded: Path, tmp_path: Path):
    bundle = tmp_path / "bundle"
    exported = lab_cli("campaign", "export", recorded, bundle, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr

    verified = lab_cli("campaign", "verify", bundle, "--json", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert (report["measurements"], report["share"], report["ok"]) == (5, 1.0, True)

    # the runs as bluesky's JSON Lines: every document valid by event-model's schemas,
    # and each run read through by a bluesky consumer to its stop document
    runs = sorted((bundle / "runs").glob("*.jsonl"))
    assert len(runs) >= 5
    for path in runs:
        docs = [json.loads(line) for line in path.read_text().splitlines()]
        for name, doc in docs:
            event_model.schema_validators[event_model.DocumentNames[name]].validate(doc)
        collected = _Collected()
        for name, doc in docs:
            collected(name, doc)
        assert collected.seen is not None and collected.seen[0] == docs[0][1]["uid"]
        if docs[0][1]["plan_name"] == "run_protocol":
            assert collected.seen[1] >= 1  # its events came through
    # the tables: units in the CSV's column names and in the Parquet fields' metadata
    table = pq.read_table(bundle / "trials.parquet")
    assert table.schema.field("cyan [mL]").metadata == {b"unit": b"milliliter"}
    assert table.column("status").to_pylist() == ["completed"] * 5
    assert "temperature [°C]" in (bundle / "trials.csv").read_text().splitlines()[0]
    assert json.loads((bundle / "planner" / "experiment.json").read_text())["experiment"]
    assert (bundle / "files" / "colour_mix.yaml").is_file()
    assert (bundle / "plots" / "colour-match-best_so_far.png").stat().st_size > 10_000
    with open_data(bundle) as data:
        wavelengths, absorbance = data.spectrum(data.trials()["run_uid"][4])
    assert wavelengths.shape == absorbance.shape and len(wavelengths) > 50

    replayed = lab_cli("campaign", "replay", bundle, "--json", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    replay = json.loads(replayed.stdout)
    assert (replay["compared"], replay["differing"]) == (5, [])
    generators = [t["generator"] for t in replay["trials"]]
    assert generators == ["ax:CenterOfSearchSpace", "ax:Sobol"] + ["ax:MBM"] * 3


def test_a_tampered_bundle_fails_verification(recorded: Path, tmp_path: Path):
    bundle = tmp_path / "bundle.zip"
    assert (
        lab_cli("campaign", "export", recorded, "colour-match", bundle, cwd=tmp_path).returncode
        == 0
    )
    assert lab_cli("campaign", "verify", bundle, cwd=tmp_path).returncode == 0

    folder = tmp_path / "unzipped"
    import zipfile

    with zipfile.ZipFile(bundle) as z:
        z.extractall(folder)
    protocol = folder / "files" / "colour_mix.yaml"
    protocol.write_text(protocol.read_text() + "# edited\n")
    (folder / "stray.txt").write_text("not exported")
    checked = lab_cli("campaign", "verify", folder, cwd=tmp_path)
    assert checked.returncode == 5
    assert "files/colour_mix.yaml: changed" in checked.stdout
    assert "stray.txt: not in the manifest" in checked.stdout

    again = lab_cli("campaign", "export", recorded, bundle, cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr  # nothing is overwritten
