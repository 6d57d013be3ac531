"""Recovery as an unlucky lab meets it: a process killed at any moment, a Ctrl-C, two
processes on one store. Nothing measured is lost, nothing runs twice, and the campaign
carries on."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import Store
from tests.conftest import edit_yaml
from tests.system.lab_process import lab_command

pytestmark = pytest.mark.system


def trials_of(store: Path) -> list:
    db = Store(store)
    try:
        return db.trials("colour-match")
    finally:
        db.close()


def campaign(example_dir: Path, store: Path, tmp_path: Path, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lab.cli",
            "campaign",
            "run",
            str(example_dir / "campaign.yaml"),
            "--store",
            str(store),
            *args,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            "COLUMNS": "200",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **kw.pop("env", {}),
        },
        **kw,
    )


def wait_until(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_a_measurement_that_reached_the_store_is_completed_on_resume(example_dir, tmp_path):
    store = tmp_path / "store.sqlite"
    first = lab_command(
        "campaign",
        "run",
        example_dir / "campaign.yaml",
        "--trials",
        "2",
        "--store",
        store,
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    measured = trials_of(store)[1]
    db = Store(store)  # as a kill -9 leaves it: spectrum stored, trial not yet completed
    db.update_trial("colour-match", 1, status="running", outcomes=None)
    db.close()
    again = lab_command(
        "campaign",
        "run",
        example_dir / "campaign.yaml",
        "--trials",
        "3",
        "--store",
        store,
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    after = trials_of(store)
    assert [t.status for t in after] == ["completed"] * 3
    assert after[1].outcomes == measured.outcomes and after[1].run_uid == measured.run_uid


def test_kill_9_at_any_moment_loses_no_measurement_and_leaves_no_keys(example_dir, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    store = tmp_path / "store.sqlite"
    env = {"TMPDIR": str(scratch)}
    rng = random.Random(7)
    for kill in range(3):
        running = campaign(example_dir, store, tmp_path, "--trials", "30", env=env)
        wait_until(lambda k=kill: len([t for t in trials_of(store) if t.status == "completed"]) > k)
        time.sleep(rng.uniform(0.0, 1.0))  # somewhere in a trial
        running.send_signal(signal.SIGKILL)
        running.wait(30)
        assert list(scratch.glob(f"sdl-sim-{running.pid}-*"))  # what kill -9 leaves behind
    final = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab.cli",
            "campaign",
            "run",
            str(example_dir / "campaign.yaml"),
            "--store",
            str(store),
            "--trials",
            str(len(trials_of(store)) + 2),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
    )
    assert final.returncode == 0, final.stdout + final.stderr
    assert list(scratch.glob("sdl-sim-*")) == []  # orphans removed, this run's too
    db = Store(store)
    for trial in db.trials("colour-match"):
        measured = trial.run_uid is not None and any(
            n == "event" and "spectrometer-absorbance" in d["data"]
            for n, d in db.documents(trial.run_uid)
        )
        if trial.status == "failed":
            assert "interrupted" in (trial.error or "") and not measured, trial
        else:
            assert trial.status == "completed" and trial.outcomes, trial
    parameters = [tuple(t.parameters.values()) for t in db.trials("colour-match")]
    assert len(set(parameters)) == len(parameters)  # no trial ran twice
    assert db.trials("colour-match")[-1].status == "completed"  # and the campaign went on
    db.close()


def test_one_ctrl_c_pauses_between_steps_and_enter_resumes(example_dir, tmp_path):
    store = tmp_path / "store.sqlite"
    running = campaign(example_dir, store, tmp_path, "--trials", "3", stdin=subprocess.PIPE)
    wait_until(lambda: any(t.status == "running" for t in trials_of(store)))
    running.send_signal(signal.SIGINT)
    assert running.stdout is not None and running.stdin is not None
    said = ""
    while "pausing at the next step boundary" not in said:
        said += running.stdout.readline()
    assert "Press Enter to resume" in said
    time.sleep(1.5)  # 1500 s of lab time: a campaign that went on would be done by now
    frozen = [(t.idx, t.status) for t in trials_of(store)]
    time.sleep(1.0)
    assert [(t.idx, t.status) for t in trials_of(store)] == frozen
    assert running.poll() is None
    running.stdin.write("\n")
    running.stdin.flush()
    out, _ = running.communicate(timeout=120)
    assert running.returncode == 0, said + out
    assert "resumed" in out
    assert [t.status for t in trials_of(store)] == ["completed"] * 3


def test_two_processes_on_one_store_are_refused_not_interleaved(example_dir, tmp_path):
    store = tmp_path / "store.sqlite"
    edit_yaml(example_dir / "campaign.yaml", lambda d: d.update(trials=30))
    first = campaign(example_dir, store, tmp_path)
    try:
        wait_until(lambda: store.exists() and len(trials_of(store)) > 0)
        second = lab_command(
            "campaign", "run", example_dir / "campaign.yaml", "--store", store, cwd=tmp_path
        )
        assert second.returncode == 2
        assert f"is in use by process {first.pid}" in " ".join(second.stderr.split())
        assert "use another --store" in " ".join(second.stderr.split())
    finally:
        first.send_signal(signal.SIGINT)  # pause, then abort: the first keeps its trials
        time.sleep(0.5)
        first.send_signal(signal.SIGINT)
        first.wait(120)
    statuses = [t.status for t in trials_of(store)]
    assert statuses and set(statuses) <= {"completed", "failed"}
