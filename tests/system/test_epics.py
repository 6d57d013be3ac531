"""A heating block whose controller is an EPICS IOC (EPICS base's soft IOC, started on
this machine), driven through ophyd-async's EPICS signals over Channel Access and PV
Access: a campaign heats its vials there, the emergency stop latches it, diagnostics
check it, and a PV the IOC does not serve is one line naming it."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import bluesky.plan_stubs as bps
import pytest
from typer.testing import CliRunner

from devices import DeviceDisconnected, signal_paths
from lab import ConfigError, Store, load_lab_config, run_campaign
from lab.cli import app
from lab.runtime.lab import build_lab
from lab.runtime.monitor import LabMonitor
from protocols import PreflightError, Protocol, preflight
from tests.conftest import EXAMPLES, edit_yaml
from tests.system.test_fault_catalogue import Bench

pytestmark = pytest.mark.system

EPICS_EXAMPLE = EXAMPLES.parent / "epics_block"


@pytest.fixture
def epics_dir(tmp_path: Path) -> Path:
    """The EPICS example with its target spectrum beside it, two Sobol trials."""
    out = tmp_path / "epics_block"
    shutil.copytree(EPICS_EXAMPLE, out)
    (tmp_path / "colour_match").mkdir()
    shutil.copy(EXAMPLES / "target_spectrum.csv", tmp_path / "colour_match")
    edit_yaml(
        out / "campaign.yaml",
        lambda c: c.update(trials=2, planner={"name": "sobol", "seed": 1}),
    )
    return out


def _heated_to(store: Store, run_uid: str) -> list[float]:
    """The block's temperature in each conditions event of a run."""
    docs = store.documents(run_uid)
    descriptors = {d["uid"]: d["name"] for n, d in docs if n == "descriptor"}
    return [
        d["data"]["block-heater"]
        for n, d in docs
        if n == "event" and descriptors[d["descriptor"]] == "conditions"
    ]


@pytest.mark.parametrize("protocol", ["ca", "pva"])
def test_a_campaign_heats_its_vials_in_the_epics_block(epics_dir: Path, protocol: str):
    edit_yaml(
        epics_dir / "lab.yaml",
        lambda lab: lab["devices"]["block"]["transport"].update(protocol=protocol),
    )
    store_path = epics_dir / "store.sqlite"
    result = run_campaign(epics_dir / "campaign.yaml", store=store_path)
    assert [t.status for t in result.trials] == ["completed", "completed"]
    store = Store(store_path)
    try:
        for trial in store.trials("colour-match-epics"):
            wanted = float(trial.parameters["temperature"].m_as("degC"))
            temperatures = _heated_to(store, trial.run_uid)
            # read with the station after every step: the heat step's reading is the
            # block settled at the trial's temperature, over EPICS
            assert any(abs(t - wanted) <= 0.5 for t in temperatures), (wanted, temperatures)
            assert trial.outcomes and trial.outcomes["colour_error"] > 0
    finally:
        store.close()


def test_a_heat_step_where_nothing_heats_is_refused_before_anything_moves(epics_dir: Path):
    limits = load_lab_config(epics_dir / "lab.yaml").declared_limits()
    steps = [
        {"step": "transfer", "source": "rack", "destination": "heating_block"},
        {"step": "heat", "temperature": "95 degC"},
        {"step": "transfer", "source": "heating_block", "destination": "spectrometer"},
        {"step": "heat", "temperature": "40 degC"},
        {"step": "discard", "source": "spectrometer"},
    ]
    with pytest.raises(PreflightError) as refused:
        preflight(Protocol.model_validate({"name": "p", "steps": steps}), limits)
    problems = {v.path: v.message for v in refused.value.violations}
    assert "outside the device limit 20..90 °C" in problems["steps.1.temperature"]
    assert problems["steps.3"] == (
        "needs the vial at 'synthesis_station' or 'heating_block' (it is at 'spectrometer')"
    )


def test_the_emergency_stop_latches_the_block_and_sends_it_to_ambient(epics_dir: Path):
    bench = Bench(epics_dir, epics_dir / "store.sqlite")
    try:
        block = bench.lab.devices.others["block"]
        bench.lab.run_engine(bps.mv(block.heater, 70))
        report = bench.process.emergency_stop("test")
        assert report.devices["block"] == "safe"
        assert bench.lab.call(block.driver.state()) == "estop"
        # the IOC sends the setpoint to ambient with the stop: a reset does not heat again
        assert bench.lab.call(block.heater.setpoint.get_value(cached=False)) == 25.0
        bench.safety.reset()
        assert bench.lab.call(block.driver.state()) == "idle"
    finally:
        bench.close()


def test_a_pv_in_major_alarm_is_the_blocks_state_and_fails_its_diagnosis(epics_dir: Path):
    # the block's HIHI alarm limit below what it is asked to reach
    edit_yaml(
        epics_dir / "lab.yaml",
        lambda lab: lab["devices"]["block"].update(
            temperature={"min": "20 degC", "max": "130 degC"}
        ),
    )
    lab = build_lab(load_lab_config(epics_dir / "lab.yaml"))
    try:
        block = lab.devices.others["block"]
        lab.run_engine(bps.mv(block.heater, 115))
        state = lab.call(block.driver.state())
        assert state.startswith("error ") and state.endswith(":LAB:HB1:T in MAJOR alarm")
        lab.call(block.stop())
    finally:
        lab.close()


def test_a_pv_the_ioc_does_not_serve_is_one_line_naming_it(epics_dir: Path):
    edit_yaml(
        epics_dir / "lab.yaml",
        lambda lab: lab["devices"]["block"].update(
            pvs={"temperature": "TEMP"}, transport={"type": "epics", "timeout": "1 s"}
        ),
    )
    with pytest.raises(DeviceDisconnected) as unreachable:
        build_lab(load_lab_config(epics_dir / "lab.yaml"))
    assert unreachable.value.device == "block"
    assert ":LAB:HB1:TEMP;" in str(unreachable.value)
    result = CliRunner().invoke(app, ["devices", "--lab", str(epics_dir / "lab.yaml")])
    assert result.exit_code == 3
    text = " ".join(result.output.split())
    assert "unreachable: block (command 'connect')" in text and "check the IOC runs" in text
    assert "Traceback" not in result.output


def test_diagnostics_check_the_blocks_alarm_and_ramp_rate(epics_dir: Path):
    store = str(epics_dir / "s.sqlite")
    result = CliRunner().invoke(
        app,
        [
            "diagnose",
            "--device",
            "block",
            "--lab",
            str(epics_dir / "lab.yaml"),
            "--store",
            store,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{") :])
    checks = {r["check"]: r for r in out["results"]}
    assert checks["connection"]["status"] == "pass"
    assert checks["identity"]["value"].startswith("SimLab EPICS heating block")
    assert checks["alarm"]["status"] == "pass"
    # the records ramp at 10 K/min of lab time; sampled every 2 s of it
    assert checks["ramp_rate"]["status"] == "pass"
    assert checks["ramp_rate"]["unit"] == "K/min"
    assert 7.0 < checks["ramp_rate"]["magnitude"] <= 10.5


def test_the_ioc_stopped_mid_heat_fails_the_trial_and_keeps_what_was_measured(epics_dir: Path):
    def impatient(lab: dict) -> None:
        lab["devices"]["block"].update(
            settle_timeout="10 min", transport={"type": "epics", "timeout": "1 s"}
        )
        # no interlock on the block here: after a restart, Channel Access finds each PV
        # again on its own schedule, and one not found yet would (rightly) stop the resume
        del lab["interlocks"]["block_over_temperature"]

    edit_yaml(epics_dir / "lab.yaml", impatient)
    bench = Bench(epics_dir, epics_dir / "store.sqlite")
    try:
        bench.run(1)
        before = bench.completed()
        twin = bench.world.servers["block"]
        # the stir at the station takes 30 s of lab time; then the block is brought to
        # the trial's temperature before the vial goes in: the IOC stops during that heat
        bench.on(
            "station",
            "STIR",
            lambda: asyncio.get_running_loop().call_later(
                0.3, lambda: asyncio.ensure_future(twin.ioc.stop())
            ),
        )
        result = bench.run(3)
        assert result.stopped is not None and "block" in result.stopped, result.stopped
        assert bench.statuses() == ["completed", "failed"]
        failed = bench.store.trials(bench.name)[1]
        assert failed.run_uid is not None
        assert bench.store.documents(failed.run_uid)[-1][0] == "stop"  # its documents kept
        bench.assert_safe()  # the station, whose IOC-less neighbour could not be confirmed
        bench.in_loop(lambda: asyncio.ensure_future(twin.ioc.start()))  # staff restart it
        block = bench.lab.devices.others["block"]

        async def every_pv_answers() -> None:
            await block.driver.state()
            for signal in signal_paths(block).values():
                await asyncio.wait_for(signal.get_value(cached=False), 1.0)

        deadline = time.monotonic() + 90  # Channel Access searches again on its own time
        while True:
            try:
                bench.lab.call(every_pv_answers())
                break
            except Exception:  # CA's own errors while a channel is still searching
                assert time.monotonic() < deadline, "the block's PVs never answered again"
                time.sleep(0.2)
        assert bench.safety.latched is None  # nothing else tripped: the campaign just resumes
        bench.resume_completes(before)
    finally:
        bench.close()


def test_a_pv_that_has_not_changed_is_current_on_the_lab_page(epics_dir: Path):
    edit_yaml(epics_dir / "lab.yaml", lambda lab: lab["devices"]["block"].update(stale_after="1 s"))
    lab = build_lab(load_lab_config(epics_dir / "lab.yaml"))
    try:
        monitor = LabMonitor(lab, lambda topic, data: None)
        time.sleep(1.5)  # the setpoint's record has not processed since the IOC started
        block = next(d for d in lab.call(monitor.snapshot())["devices"] if d["name"] == "block")
        rows = {r["label"]: r for r in block["readings"]}
        assert list(rows) == ["heater temperature", "heater setpoint", "occupied", "ramp rate"]
        assert rows["heater setpoint"]["value"] == 25.0 and rows["ramp rate"]["units"] == "K/min"
        assert not any(r["stale"] for r in rows.values()), rows
    finally:
        lab.close()


def _arm_on_a_motor_record(lab: dict) -> None:
    """The arm replaced by a sample changer: a stage on a motor record (PV Access), each
    place of its reach at a position along its axis."""
    arm = lab["devices"]["arm"]
    arm["transport"] = {"type": "epics", "protocol": "pva", "timeout": "5 s"}
    arm["prefix"] = "LAB:SC1:"
    arm["positions"] = {place: f"{100 * i} mm" for i, place in enumerate(arm["reach"])}


def test_a_sample_changer_on_a_motor_record_carries_the_vials(epics_dir: Path):
    edit_yaml(epics_dir / "lab.yaml", _arm_on_a_motor_record)
    store_path = epics_dir / "store.sqlite"
    result = run_campaign(epics_dir / "campaign.yaml", store=store_path)
    assert [t.status for t in result.trials] == ["completed", "completed"]
    store = Store(store_path)
    try:
        for trial in store.trials("colour-match-epics"):
            docs = store.documents(trial.run_uid)
            carried = {
                d["data"]["arm-holding"]
                for n, d in docs
                if n == "event" and "arm-holding" in d["data"]
            }
            # the changer's barcode reader names the vial it carries: the ledger follows it
            assert trial.sample_id is not None and trial.sample_id in carried
            assert trial.outcomes and trial.outcomes["colour_error"] > 0
    finally:
        store.close()


def test_an_arm_over_epics_needs_its_prefix_and_a_position_for_each_place(epics_dir: Path):
    def unplaced(lab: dict) -> None:
        _arm_on_a_motor_record(lab)
        del lab["devices"]["arm"]["prefix"]
        del lab["devices"]["arm"]["positions"]["waste"]

    edit_yaml(epics_dir / "lab.yaml", unplaced)
    with pytest.raises(ConfigError) as refused:
        load_lab_config(epics_dir / "lab.yaml")
    text = str(refused.value)
    assert "devices.arm.prefix: required over EPICS" in text
    assert "devices.arm.positions: give a position for each place of its reach: ['waste']" in text
