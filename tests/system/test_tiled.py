"""Every run of a campaign reaches a Tiled server too, as Bluesky writes it: read back
with ``tiled.client``, the spectra are arrays with their units in the metadata, equal to
the store's. A server gone mid-campaign loses nothing: the campaign goes on, the store
keeps everything, and the next run writes what Tiled missed."""

from __future__ import annotations

import http.server
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tiled.client import from_uri
from typer.testing import CliRunner

from lab import Store, run_campaign
from lab.campaigns.results import RunnerEvents
from lab.cli import app
from lab.files.lab_file import load_lab_config
from lab.server import LabServer
from lab.store.tiled import LocalTiled, connect

pytestmark = pytest.mark.system


@pytest.fixture
def tiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalTiled]:
    """A Tiled server on this machine; the lab writes with its key, anyone reads."""
    server = LocalTiled(tmp_path / "tiled")
    server.start()
    monkeypatch.setenv("TILED_API_KEY", server.api_key)
    yield server
    server.stop()


def _spectra(store: Store, run_uid: str) -> np.ndarray:
    return np.array(
        [
            d["data"]["spectrometer-absorbance"]
            for n, d in store.documents(run_uid)
            if n == "event" and "spectrometer-absorbance" in d["data"]
        ]
    )


def test_every_run_reaches_tiled_with_its_spectra_as_arrays_with_units(
    example_dir: Path, tiled: LocalTiled
):
    store_path = example_dir / "store.sqlite"
    result = run_campaign(
        example_dir / "campaign.yaml", trials=2, store=store_path, tiled=tiled.url
    )
    assert result.tiled is not None and result.tiled.missing == {}
    reader = from_uri(tiled.url, api_key=None)  # a facility's reader: no key needed here
    store = Store(store_path)
    try:
        trials = store.trials("colour-match")
        assert result.tiled.written == len(store.runs(campaign="colour-match")) >= 2
        for trial in trials:
            run = reader[trial.run_uid]
            assert run.metadata["start"]["campaign"] == "colour-match"
            assert run.metadata["stop"]["exit_status"] == "success"
            primary = run["primary"]
            keys = primary.metadata["data_keys"]["spectrometer-absorbance"]
            assert keys["units"] and keys["shape"] == [101]
            spectra = np.asarray(primary["spectrometer-absorbance"].read(), dtype=float)
            assert spectra.shape == (1, 101)
            np.testing.assert_allclose(spectra, _spectra(store, trial.run_uid))
    finally:
        store.close()


class StopsTiledAfterTheFirstTrial(RunnerEvents):
    def __init__(self, server: LocalTiled) -> None:
        self.server = server

    def trial_finished(self, progress) -> None:
        self.server.stop()


def test_a_tiled_server_gone_mid_campaign_loses_nothing(
    example_dir: Path, tiled: LocalTiled, monkeypatch: pytest.MonkeyPatch
):
    store_path = example_dir / "store.sqlite"
    result = run_campaign(
        example_dir / "campaign.yaml",
        trials=2,
        store=store_path,
        tiled=tiled.url,
        events=StopsTiledAfterTheFirstTrial(tiled),
    )
    assert [t.status for t in result.trials] == ["completed", "completed"]
    assert result.tiled is not None and len(result.tiled.missing) >= 1
    assert "the next run with --tiled writes them" in str(result.tiled)
    # the same catalog served again (staff restart it): the next run catches up
    again = LocalTiled(tiled.folder)
    again.start()
    monkeypatch.setenv("TILED_API_KEY", again.api_key)
    try:
        result = run_campaign(
            example_dir / "campaign.yaml", trials=3, store=store_path, tiled=again.url
        )
        assert result.tiled is not None and result.tiled.missing == {}
        reader = from_uri(again.url)
        store = Store(store_path)
        try:
            for trial in store.trials("colour-match"):
                assert "stop" in reader[trial.run_uid].metadata
        finally:
            store.close()
    finally:
        again.stop()


class Nonsense(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>hello</html>")

    def log_message(self, *args) -> None:
        pass


def test_a_tiled_url_that_answers_nonsense_is_one_line_and_nothing_runs(example_dir: Path):
    server = http.server.HTTPServer(("127.0.0.1", 0), Nonsense)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    store = example_dir / "store.sqlite"
    try:
        result = CliRunner().invoke(
            app,
            [
                "campaign",
                "run",
                str(example_dir / "campaign.yaml"),
                "--store",
                str(store),
                "--tiled",
                url,
            ],
        )
    finally:
        server.shutdown()
    assert result.exit_code == 3, result.output
    line = " ".join(result.output.split())
    assert f"tiled: cannot use {url}" in line and "check the URL" in line
    assert "Traceback" not in result.output
    assert not store.exists()  # nothing ran


def test_the_lab_server_writes_a_plan_run_by_hand_to_tiled(
    example_dir: Path, tiled: LocalTiled, tmp_path: Path
):
    server = LabServer(
        load_lab_config(example_dir / "lab.yaml"),
        Store(tmp_path / "server.sqlite"),
        secrets.token_urlsafe(32),
        example_dir,
        tiled=(connect(tiled.url), tiled.url),
    )
    server.start()
    try:
        outcome = server.manager.run_plan("count", {"detectors": ["station"], "num": 2}, "otto")
        assert outcome.exit_status == "success", outcome.why
    finally:
        server.close()
    assert server.tiled is not None and server.tiled.missing == {}
    assert server.tiled.written >= 1
    run = from_uri(tiled.url)[outcome.run_uids[0]]
    heater = np.asarray(run["primary"]["station-heater"].read(), dtype=float)
    assert heater.shape == (2,) and run.metadata["stop"]["num_events"]["primary"] == 2
