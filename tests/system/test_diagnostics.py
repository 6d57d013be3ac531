"""`lab diagnose` and hw_tests against the simulated lab over its real wires: a healthy lab
passes clean, each simulated degradation is caught by the check made for it (and only
by it), a device held by another process is refused, the lab is left safe, and the
reports and history are written and readable offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devices import ResourceLock
from hw_tests import Diagnosis, diagnose, write_history, write_report
from lab.cli import app
from lab.files.lab_file import load_lab_config
from lab.runtime.lab import build_lab
from lab.store import Store
from tests.conftest import edit_yaml

pytestmark = pytest.mark.system

#: each simulated degradation, and the (device, check) that must catch it
CAUGHT_BY = {
    "aged_lamp": ("spectrometer", "lamp_intensity"),
    "noisy_detector": ("spectrometer", "dark_noise"),
    "drifting_pump": ("station", "volume_error"),
    "slow_heater": ("station", "ramp_rate"),
    "arm_offset": ("arm", "accuracy"),
    "wrong_firmware": ("spectrometer", "identity"),
}


@pytest.fixture
def lab_file(example_dir: Path) -> Path:
    def realistic_clock(lab: dict) -> None:  # the PLC's scan must follow the heater ramp
        lab["simulation"]["clock_speed"] = 200

    edit_yaml(example_dir / "lab.yaml", realistic_clock)
    return example_dir / "lab.yaml"


def _diagnose(lab_file: Path, degradations: list[str] = (), hold=None) -> tuple[Diagnosis, object]:
    config = load_lab_config(lab_file)
    simulation = config.simulation.model_copy(update={"degradations": list(degradations)})
    config = config.model_copy(update={"simulation": simulation})
    running = build_lab(config, connect=False)
    try:
        if hold is not None:
            hold(running)
        diagnosis = diagnose(running)
        world = running.world
    finally:
        running.close()
    return diagnosis, world


def _statuses(diagnosis: Diagnosis) -> dict[tuple[str, str], str]:
    return {(r.device, r.check): r.status for r in diagnosis.results}


def test_a_healthy_lab_passes_every_check_and_is_left_safe(lab_file: Path):
    diagnosis, world = _diagnose(lab_file)
    statuses = _statuses(diagnosis)
    assert set(statuses.values()) == {"pass"}, {k: v for k, v in statuses.items() if v != "pass"}
    checks = {c for _, c in statuses}
    assert {"repeatability", "wavelength_error", "ramp_rate", "volume_error"} <= checks
    station = world.station
    assert station.rpm == 0 and station.setpoint_c == station.ambient_c
    arm = world.firmware["arm"]
    assert arm.position == "rack" and arm.held is None  # home, empty
    assert world.firmware["spectrometer"].integration_ms == 100.0  # put back


def test_each_degradation_is_caught_by_its_own_check(lab_file: Path):
    diagnosis, _ = _diagnose(lab_file, list(CAUGHT_BY))
    failed = {k for k, status in _statuses(diagnosis).items() if status == "fail"}
    assert failed == set(CAUGHT_BY.values())
    assert diagnosis.failed
    for result in diagnosis.results:
        if result.status == "fail":
            assert result.hint, result  # says what to do
    lamp = next(r for r in diagnosis.results if r.check == "lamp_intensity")
    assert lamp.unit == "count/ms" and lamp.magnitude < 150  # the measured figure, in units


def test_a_device_held_by_a_campaign_is_refused_and_the_rest_still_checked(lab_file: Path):
    held = []

    def campaign_holds_the_arm(running) -> None:
        lock = ResourceLock.for_file(running.world.endpoints["arm"], "campaign")
        lock.acquire()
        held.append(lock)

    try:
        diagnosis, world = _diagnose(lab_file, hold=campaign_holds_the_arm)
    finally:
        held[0].release()
    statuses = _statuses(diagnosis)
    connection = next(r for r in diagnosis.results if (r.device, r.check) == ("arm", "connection"))
    assert connection.status == "fail" and "campaign or the lab server" in connection.hint
    assert statuses[("arm", "repeatability")] == "skipped"
    assert world.firmware["arm"].position == "rack"  # it never moved
    assert statuses[("station", "ramp_rate")] == "pass"


def test_the_heater_is_not_run_with_a_vial_in_the_slot(lab_file: Path):
    def vial_in_slot(running) -> None:
        cell = running.world.workcell
        cell.put("synthesis_station", cell.take("rack"))

    diagnosis, world = _diagnose(lab_file, hold=vial_in_slot)
    statuses = _statuses(diagnosis)
    assert statuses[("station", "ramp_rate")] == "skipped"
    assert max(world.workcell.vials_at["synthesis_station"].temperature_c, 0) <= 25.5


def test_reports_are_self_contained_and_history_trends(lab_file: Path, tmp_path: Path):
    diagnosis, _ = _diagnose(lab_file, ["arm_offset"])
    page, data = write_report(diagnosis, tmp_path / "reports")
    html = page.read_text()
    assert html.count("data:image/png;base64,") >= 5  # spectra, ramp, scatter, linearity
    assert not re.search(r"(src|href)=['\"]https?://", html)  # opens offline
    assert json.loads(data.read_text())["devices"]["arm"] == "fail"
    store = Store(tmp_path / "store.sqlite")
    try:
        store.diagnoses.add("lab", diagnosis.started, diagnosis.as_dict()["results"])
        store.diagnoses.add("lab", diagnosis.started + 1, diagnosis.as_dict()["results"])
        rows = store.diagnoses.history("arm")
        latest = store.diagnoses.latest()
    finally:
        store.close()
    assert [r["check"] for r in rows].count("accuracy") == 2
    assert {r["session"] for r in latest["arm"]} == {diagnosis.started + 1}
    trend = write_history("arm", rows, tmp_path / "reports").read_text()
    assert trend.count("data:image/png;base64,") == len(
        {r["check"] for r in rows if r["magnitude"] is not None}
    )


def test_lab_diagnose_command(lab_file: Path, tmp_path: Path, store_url: str):
    runner = CliRunner()
    store, reports = store_url, tmp_path / "r"
    args = ["diagnose", "--lab", str(lab_file), "--store", store, "--report", str(reports)]
    ok = runner.invoke(app, [*args, "--device", "spectrometer", "--json"])
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.output)
    assert set(out["devices"]) == {"spectrometer"} and Path(out["report"]).exists()

    edit_yaml(lab_file, lambda lab: lab["simulation"].update(degradations=["aged_lamp"]))
    bad = runner.invoke(app, [*args, "--device", "spectrometer"])
    assert bad.exit_code == 5, bad.output
    assert "lamp_intensity" in bad.output and "replace it" in bad.output

    history = runner.invoke(
        app,
        [
            "diagnose",
            "history",
            "spectrometer",
            "--lab",
            str(lab_file),
            "--store",
            store,
            "--report",
            str(reports),
            "--json",
        ],
    )
    assert history.exit_code == 0, history.output
    lamp = [r for r in json.loads(history.output)["results"] if r["check"] == "lamp_intensity"]
    assert [r["status"] for r in lamp] == ["pass", "fail"]

    unknown = runner.invoke(app, [*args, "--device", "microscope"])
    assert unknown.exit_code == 2 and "microscope" in unknown.output
