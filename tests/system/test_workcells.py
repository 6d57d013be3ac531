"""Workcells beyond one machine: two simulated workcells, each its own process behind its
own bluesky-queueserver (RE Manager and worker, the queue in a real Redis), and one
campaign spread over both by a coordinator in a third process; every run's documents in
the campaign's store on a real PostgreSQL server."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Store
from lab.records.timeline import campaign_spans
from lab.workcells import QueueServerExecutor, WorkcellError
from simulators.opcua_station import free_port
from tests import postgres as pg
from tests import redis as throwaway_redis
from tests.conftest import edit_yaml
from tests.system.lab_process import demo_password, lab_command, start_lab

pytestmark = pytest.mark.system


def _serve(
    name: str, lab: Path, store: str, redis: str, folder: Path
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (folder / f"{name}.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lab.cli",
            "workcell",
            "serve",
            "--lab",
            str(lab),
            "--store",
            store,
            "--name",
            name,
            "--control-port",
            str(port),
            "--info-port",
            str(free_port()),
            "--redis",
            redis,
            "--folder",
            str(folder / name),
        ],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )
    return process, f"tcp://127.0.0.1:{port}"


@pytest.fixture
def workcells(
    example_dir: Path,
    tmp_path: Path,
    postgres: pg.ThrowawayPostgres,
    redis: throwaway_redis.ThrowawayRedis,
) -> Iterator[tuple[dict[str, str], str]]:
    """Two workcells of the example lab on loopback, recording into a fresh database."""
    edit_yaml(example_dir / "lab.yaml", lambda d: d["simulation"].update(clock_speed=500))
    store = postgres.database()
    Store(store).close()  # the schema, made once before three processes use it
    started = {
        name: _serve(name, example_dir / "lab.yaml", store, redis.address, tmp_path)
        for name in ("wc1", "wc2")
    }
    yield {name: address for name, (_, address) in started.items()}, store
    for process, _ in started.values():
        process.send_signal(signal.SIGINT)
    for name, (process, _) in started.items():
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"workcell {name} did not stop: {(tmp_path / f'{name}.log').read_text()}")


def test_one_campaign_runs_across_two_workcells(
    workcells: tuple[dict[str, str], str], example_dir: Path, tmp_path: Path
):
    addresses, store = workcells
    run = lab_command(
        "campaign",
        "run",
        example_dir / "campaign.yaml",
        "--trials",
        "4",
        "--store",
        store,
        *itertools.chain.from_iterable(("--workcell", f"{n}={a}") for n, a in addresses.items()),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "campaign colour-match: 4 trials" in run.stdout

    db = Store(store)
    try:
        trials = db.trials("colour-match")
        assert [t.status for t in trials] == ["completed"] * 4
        starts = {t.idx: db.documents(t.run_uid)[0][1] for t in trials}
        # each trial one run, made by a workcell's worker and recorded in the campaign's store
        assert {s["workcell"] for s in starts.values()} == {"wc1", "wc2"}
        for t in trials:
            names = [n for n, _ in db.documents(t.run_uid)]
            assert names[0] == "start" and names[-1] == "stop" and "event" in names
            assert db.documents(t.run_uid)[-1][1]["exit_status"] == "success"
            assert t.outcomes and t.sample_id  # measured, and the vial in the ledger
        # the two workcells worked at the same time
        spans = campaign_spans(db, "colour-match")
        on = {
            w: [
                (s["time"], db.documents(t.run_uid)[-1][1]["time"])
                for t in trials
                if (s := starts[t.idx])["workcell"] == w
            ]
            for w in ("wc1", "wc2")
        }
        assert any(min(a[1], b[1]) > max(a[0], b[0]) for a in on["wc1"] for b in on["wc2"])
        assert len({s.trial for s in spans}) == 4
        # the planner heard of the trials in flight on the other workcell as pending
        assert max((t.suggestion or {}).get("pending", 0) for t in trials) >= 1
    finally:
        db.close()


def test_a_workcell_that_is_not_there_is_named():
    with pytest.raises(WorkcellError, match="workcell ghost"):
        QueueServerExecutor("ghost", f"tcp://127.0.0.1:{free_port()}", timeout_s=2)


def test_workcell_options_are_checked_before_anything_runs(example_dir: Path, tmp_path: Path):
    campaign = example_dir / "campaign.yaml"
    bad = lab_command("campaign", "run", campaign, "--workcell", "wc1", cwd=tmp_path)
    assert bad.returncode == 2 and "write NAME=tcp://HOST:PORT" in bad.stderr
    lone = lab_command(
        "campaign", "run", campaign, "--workcell", "wc1=tcp://127.0.0.1:1", cwd=tmp_path
    )
    assert lone.returncode == 2 and "--workcell needs --store" in lone.stderr
    assert not (tmp_path / "runs").exists()  # nothing was written


def test_a_lab_server_coordinates_the_workcells_and_shows_each_ones_trial(
    workcells: tuple[dict[str, str], str], example_dir: Path, tmp_path: Path
):
    from lab.client import LabClient

    addresses, store = workcells
    options = itertools.chain.from_iterable(
        ("--workcell", f"{n}={a}") for n, a in addresses.items()
    )
    server = start_lab(
        "--demo", "--lab", example_dir / "lab.yaml", "--store", store, *options, cwd=tmp_path
    )
    try:
        with LabClient.login(server.url, "demo", demo_password(server)) as client:
            assert client.state().snapshot["devices"] == []  # the workcells own them
            client.start("colour-match", trials=4, planner="sobol")
            views = []
            while client.campaign("colour-match").session.state in ("starting", "running"):
                views.append(client.stations())
                time.sleep(0.1)
            assert client.campaign("colour-match").session.state == "finished"
            lanes = [{s.station for s in v.stations if s.trial is not None} for v in views]
            assert {"wc1", "wc2"} in lanes  # both workcells shown running a trial at once
            # the emergency stop reaches every device of every workcell, through its worker
            report = client.emergency_stop()
            assert {"wc1:station", "wc2:station", "wc1:arm", "wc2:spectrometer"} <= set(
                report.devices
            )
            assert set(report.devices.values()) == {"safe"}
            client.reset()
            assert client.state().control.estop is None
    finally:
        assert server.stop() in (0, -15), server.output()
