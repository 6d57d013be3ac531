"""A heating block served by a SiLA 2 server (the sila2 library's own server, over TLS on
this machine), driven through the library's dynamic client: a campaign heats its vials
there, the emergency stop latches it, and a wrong certificate, a missing feature or a
server gone are each one clear device error."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import bluesky.plan_stubs as bps
import pytest
from bluesky import RunEngine
from bluesky.run_engine import call_in_bluesky_event_loop as run

from devices import DeviceDisconnected, DeviceFault, DeviceRefused
from devices.sila import FEATURE, SilaDriver
from lab import Store, run_campaign
from lab.records.timeline import campaign_spans
from simulators import Location, SimClock, Workcell
from simulators.sila import BlockPhysics, SilaHeatingBlockServer
from tests.conftest import EXAMPLES, edit_yaml
from tests.system.test_fault_catalogue import Bench

pytestmark = pytest.mark.system


def _on_sila(lab: dict) -> None:
    block = lab["devices"]["block"]
    lab["devices"]["block"] = {
        "kind": "sila2_heating_block",
        "transport": {"type": "sila2", "timeout": "2 s"},
        "identity": {"model": "HeatingBlock"},
        "place": block["place"],
        "temperature": block["temperature"],
    }


@pytest.fixture
def sila_dir(tmp_path: Path) -> Path:
    """The heating-block example with its block on a SiLA 2 server, two Sobol trials."""
    out = tmp_path / "epics_block"
    shutil.copytree(EXAMPLES.parent / "epics_block", out)
    (tmp_path / "colour_match").mkdir()
    shutil.copy(EXAMPLES / "target_spectrum.csv", tmp_path / "colour_match")
    edit_yaml(out / "lab.yaml", _on_sila)
    edit_yaml(
        out / "campaign.yaml", lambda c: c.update(trials=2, planner={"name": "sobol", "seed": 1})
    )
    return out


def test_a_campaign_heats_its_vials_in_the_sila_block(sila_dir: Path):
    store_path = sila_dir / "store.sqlite"
    result = run_campaign(sila_dir / "campaign.yaml", store=store_path)
    assert [t.status for t in result.trials] == ["completed", "completed"]
    store = Store(store_path)
    try:
        for trial in store.trials("colour-match-epics"):
            wanted = float(trial.parameters["temperature"].m_as("degC"))
            docs = store.documents(trial.run_uid)
            streams = {d["uid"]: d["name"] for n, d in docs if n == "descriptor"}
            block = [
                d["data"]["block-heater"]
                for n, d in docs
                if n == "event" and streams[d["descriptor"]] == "conditions"
            ]
            assert any(abs(t - wanted) <= 0.5 for t in block), (wanted, block)
    finally:
        store.close()


def _two_stations(lab: dict) -> None:
    lab["locations"]["station_2"] = {"xyz_mm": [450, 120, 60]}
    lab["devices"]["arm"]["reach"].append("station_2")
    lab["devices"]["station2"] = {**lab["devices"]["station"], "slot": "station_2"}
    lab["interlocks"]["leak2"] = {"signal": "station2.leak", "action": "emergency_stop"}


def test_two_stations_take_turns_with_the_block_each_vial_at_its_own_heat(sila_dir: Path):
    """Trials on two stations at once both heat their vial in the one block: a trial brings
    the block to its start temperature only once it has the place, never while the other
    trial's vial stands in it at that trial's heat."""
    edit_yaml(sila_dir / "lab.yaml", _two_stations)
    edit_yaml(sila_dir / "campaign.yaml", lambda c: c.update(trials=4))
    store_path = sila_dir / "store.sqlite"
    result = run_campaign(sila_dir / "campaign.yaml", store=store_path)
    assert [t.status for t in result.trials] == ["completed"] * 4
    store = Store(store_path)
    try:
        spans = campaign_spans(store, "colour-match-epics")
        stations = {s.station for s in spans}
    finally:
        store.close()
    assert len(stations) == 2  # the trials ran side by side
    into = {s.trial: s for s in spans if s.prepared_by == "block"}
    out_of = {  # the step after the vial's time in the block: carried out of it
        t: next(s for s in spans if s.trial == t and s.step > into[t].step and s.device == "arm")
        for t in into
    }
    assert len(into) == 4
    for t, prepared in into.items():
        for other in into:
            if other != t:  # the other trial's vial was not in the block meanwhile
                in_block = (into[other].began, out_of[other].ended)
                assert prepared.prepared <= in_block[0] or prepared.preparing >= in_block[1]
    # one trial found the block taken and waited for it, as waiting, not as heating
    assert any(s.preparing > s.reached for s in into.values())


def test_the_emergency_stop_reaches_the_sila_block(sila_dir: Path):
    bench = Bench(sila_dir, sila_dir / "store.sqlite")
    try:
        block = bench.lab.devices.others["block"]
        bench.lab.run_engine(bps.mv(block.heater, 60))
        report = bench.process.emergency_stop("test")
        assert report.devices["block"] == "safe"
        assert bench.lab.call(block.driver.state()) == "estop"
        physics = bench.world.firmware["block"].physics
        assert physics.stopped and physics.target_c == physics.ambient_c

        async def heat_again() -> None:
            await block.heater.setpoint.set(40.0)

        latched = "EmergencyStopLatched: the emergency stop is latched"
        with pytest.raises(DeviceFault, match=latched):  # the server's refusal, typed
            bench.lab.call(heat_again())
        bench.safety.reset()
        assert bench.lab.call(block.driver.state()) == "idle"
    finally:
        bench.close()


@pytest.fixture
def server():
    """A simulated SiLA heating block served on its own, on the RunEngine's loop."""
    RunEngine({})  # starts bluesky's event loop, where the devices live
    workcell = Workcell([Location("block", (0, 0, 0))])
    block = SilaHeatingBlockServer(
        BlockPhysics(SimClock(100), workcell, "block", 25.0, 10.0), 20, 90
    )
    run(block.start())
    yield block
    run(block.stop())


def test_a_certificate_the_server_does_not_chain_to_is_refused(server, tmp_path: Path):
    other = SilaHeatingBlockServer(
        BlockPhysics(SimClock(100), Workcell([Location("b", (0, 0, 0))]), "b", 25.0, 10.0), 20, 90
    )
    run(other.start())  # its certificate is another server's
    run(other.stop())
    assert other.certificate is not None and other.certificate != server.certificate
    driver = SilaDriver("block", server.address, FEATURE, other.certificate, timeout=3.0)
    with pytest.raises(DeviceRefused) as refused:
        run(driver.connect())
    assert str(refused.value) == (
        f"block (command 'connect'): SiLA 2 (TLS) {server.address}: the server's certificate "
        "was refused (self-signed certificate); is the certificate in the lab file the one "
        "the server's chains to?"
    )


def test_a_feature_the_server_does_not_offer_is_named(server):
    driver = SilaDriver("block", server.address, "TemperatureController", server.certificate, 3.0)
    with pytest.raises(DeviceRefused) as refused:
        run(driver.connect())
    assert "does not offer the SiLA feature 'TemperatureController'" in str(refused.value)
    assert "HeatingBlockController" in str(refused.value)  # what it does offer


def test_a_server_gone_is_a_disconnected_device(server):
    driver = SilaDriver("block", server.address, FEATURE, server.certificate, timeout=2.0)
    run(driver.connect())
    assert run(driver.state()) == "idle"
    run(server.stop())
    with pytest.raises(DeviceDisconnected) as gone:
        run(driver.state())
    assert gone.value.device == "block" and gone.value.command == "state"


def test_the_sila_server_gone_mid_heat_fails_the_trial_and_keeps_what_was_measured(
    sila_dir: Path,
):
    edit_yaml(
        sila_dir / "lab.yaml", lambda lab: lab["devices"]["block"].update(settle_timeout="10 min")
    )
    bench = Bench(sila_dir, sila_dir / "store.sqlite")
    try:
        bench.run(1)
        before = bench.completed()
        block_server = bench.world.servers["block"]
        # after the stir at the station the block is brought to the trial's temperature
        # before the vial goes in: the server goes away during that heat
        bench.on(
            "station",
            "STIR",
            lambda: asyncio.get_running_loop().call_later(
                0.3, lambda: asyncio.ensure_future(block_server.stop())
            ),
        )
        result = bench.run(3)
        assert result.stopped is not None and "block" in result.stopped, result.stopped
        assert bench.statuses() == ["completed", "failed"]
        failed = bench.store.trials(bench.name)[1]
        assert failed.run_uid is not None
        assert bench.store.documents(failed.run_uid)[-1][0] == "stop"  # its documents kept
        bench.assert_safe()
        bench.in_loop(lambda: asyncio.ensure_future(block_server.start()))  # staff restart it
        block = bench.lab.devices.others["block"]
        deadline = time.monotonic() + 30
        while True:  # gRPC reconnects on its own
            try:
                bench.lab.call(block.driver.state())
                break
            except DeviceDisconnected:
                assert time.monotonic() < deadline, "the block never answered again"
                time.sleep(0.2)
        if bench.safety.latched is not None:  # its interlock could not be read meanwhile
            bench.safety.reset()
        bench.resume_completes(before)
    finally:
        bench.close()
