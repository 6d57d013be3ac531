"""The balance package as a lab uses it: its driver against its simulator on a real pty,
its device in mock mode, a campaign whose protocol weighs, its diagnostics, and its
faults (a balance that stops answering, a pump that under-delivers)."""

from __future__ import annotations

import shutil
from pathlib import Path

import bluesky.plan_stubs as bps
import pytest
import yaml
from bluesky import RunEngine
from bluesky.run_engine import call_in_bluesky_event_loop as run
from ophyd_async.core import get_mock_execute, set_mock_value
from sdl_balance import Balance, MtSicsDriver, MtSicsError
from sdl_balance._simulator import DENSITY_G_ML, EMPTY_VIAL_G, BalanceFirmware

from devices import (
    DeviceDisconnected,
    DeviceTimeout,
    LimitViolation,
    ProtocolError,
    SerialTransport,
    parse_quantity,
)
from lab import load_lab_config
from simulators import Location, PtyServer, SimClock, Vial, Workcell

EXAMPLE = Path(__file__).resolve().parent.parent / "example"


@pytest.fixture
def pan(tmp_path: Path):
    """A simulated balance on a real pty (CR LF), a workcell with a vial rack and a pan."""
    RunEngine({})  # starts the event loop the devices live on
    clock = SimClock(1e4)
    cell = Workcell([Location("rack", (0, 0, 0), source=True), Location("pan", (1, 0, 0))])
    firmware = BalanceFirmware(clock, cell, "pan", capacity_g=220.0, readability_g=0.0001)
    server = PtyServer(firmware, tmp_path / "balance", terminator=b"\r\n")
    run(server.start())
    line = SerialTransport(str(tmp_path / "balance"), "balance", 9600, "\r\n", 2)
    driver = MtSicsDriver(line, "balance", timeout=2.0, stable_timeout=1.0)
    run(driver.connect())
    yield cell, firmware, driver, server
    run(driver.close())
    run(server.stop())


def test_the_driver_weighs_zeroes_tares_and_says_who_it_is(pan):
    cell, _, driver, server = pan
    assert run(driver.identify()) == "Mettler Toledo,XPR205,B0123456,1.10"
    assert run(driver.weigh()) == pytest.approx(0.0, abs=0.0005)
    cell.vials_at["pan"] = Vial("V1", 10.0, {"water": 1.5})
    assert run(driver.weigh()) == pytest.approx(EMPTY_VIAL_G + 1.5 * DENSITY_G_ML, abs=0.0005)
    assert run(driver.tare()) == pytest.approx(EMPTY_VIAL_G + 1.5, abs=0.0005)
    grams, stable = run(driver.weigh_now())
    assert grams == pytest.approx(0.0, abs=0.0005) and stable
    assert "S" in server.requests and "T" in server.requests  # MT-SICS on the wire


def test_the_balance_s_refusals_become_typed_errors_in_words(pan):
    cell, firmware, driver, _ = pan
    cell.vials_at["pan"] = Vial("V1", 10.0, {"water": 500.0})  # 512 g on a 220 g balance
    with pytest.raises(LimitViolation, match="above the balance's range"):
        run(driver.weigh())
    cell.vials_at["pan"] = None
    firmware.unstable = True
    with pytest.raises(MtSicsError, match="did not settle"):
        run(driver.weigh())
    with pytest.raises(MtSicsError, match="not executable"):
        run(driver.zero())
    with pytest.raises(ProtocolError, match="syntax error"):
        run(driver._ask("XYZ"))  # a command the balance does not know answers ES


def test_an_unplugged_balance_is_an_error_naming_it(pan):
    _, _, driver, server = pan

    async def unplug() -> None:
        server.disconnect()

    run(unplug())
    with pytest.raises((DeviceDisconnected, DeviceTimeout), match="balance"):
        run(driver.weigh_now())


def test_the_device_in_mock_mode_weighs_what_the_test_sets(tmp_path: Path):
    re = RunEngine({}, call_returns_result=True)
    line = SerialTransport(str(tmp_path / "never"), "balance", 9600, "\r\n", 0)
    balance = Balance(MtSicsDriver(line, "balance"), name="balance")
    run(balance.connect(mock=True))  # nothing is opened: the port does not exist
    set_mock_value(balance.mass, 13.5)
    re(bps.trigger(balance, wait=True))
    get_mock_execute(balance.weighing).assert_awaited_once()
    assert run(balance.read())["balance-mass"]["value"] == 13.5
    assert run(balance.describe())["balance-mass"]["units"] == "g"


@pytest.fixture
def balance_lab(tmp_path: Path) -> Path:
    """The balance example, copied, on a fast clock."""
    out = tmp_path / "example"
    shutil.copytree(EXAMPLE, out)
    data = yaml.safe_load((out / "lab.yaml").read_text())
    data["simulation"]["clock_speed"] = 2000
    (out / "lab.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    campaign = yaml.safe_load((out / "campaign.yaml").read_text())
    target = EXAMPLE.parent.parent / "colour_match" / "target_spectrum.csv"
    campaign["objectives"][0]["target"] = str(target)
    campaign.update(trials=2, planner={"name": "sobol", "seed": 2})
    (out / "campaign.yaml").write_text(yaml.safe_dump(campaign, sort_keys=False))
    return out


def test_a_lab_file_names_the_balance_by_its_installed_kind(balance_lab: Path):
    config = load_lab_config(balance_lab / "lab.yaml")
    assert config.kind_name("balance") == "mt_sics_balance"
    assert config.settings_of("balance").capacity.m_as("g") == 220
    facts = config.facts()["balance"]
    assert facts.place == "balance" and "weighs" in facts.capabilities
    assert facts.limits["mass"].high == 220


def test_a_campaign_weighs_each_vial_and_checks_its_water_by_weight(balance_lab: Path):
    from lab import run_campaign

    result = run_campaign(balance_lab / "campaign.yaml", store=balance_lab / "store.sqlite")
    assert [t.status for t in result.trials] == ["completed", "completed"]
    from lab import Store

    store = Store(balance_lab / "store.sqlite")
    try:
        for trial in store.trials("gravimetric-colour-match"):
            docs = store.documents(trial.run_uid)
            streams = {d["uid"]: d["name"] for n, d in docs if n == "descriptor"}
            weighed = [
                d["data"]["balance-mass"]
                for n, d in docs
                if n == "event" and streams[d["descriptor"]] == "weighing"
            ]
            # tared empty, then its 2 mL of water (2 g), then full: 2 g + the dyes' volumes
            assert len(weighed) == 3
            assert weighed[0] == pytest.approx(0.0, abs=0.001)
            assert weighed[1] == pytest.approx(2.0, abs=0.005)
            params = trial.parameters
            dyes = sum(float(str(params[k]).split()[0]) for k in ("cyan", "magenta", "yellow"))
            assert weighed[2] == pytest.approx(2.0 + dyes, abs=0.01)
            # the ledger keeps each weighing of the vial, with the step that took it
            ledger = store.sample(trial.sample_id)["measured"]  # type: ignore[index]
            assert [(m["step"], m["reading"]) for m in ledger] == [
                (1, "balance-mass"),
                (5, "balance-mass"),
                (15, "balance-mass"),
            ]
            assert parse_quantity(ledger[1]["value"]).m_as("g") == pytest.approx(weighed[1])
    finally:
        store.close()
    from lab.data import open_data

    frame = open_data(balance_lab / "store.sqlite").samples()
    assert "balance-mass (step 5) [g]" in frame.columns


def test_a_dispense_that_weighs_wrong_fails_its_trial_in_words(balance_lab: Path):
    from lab import run_campaign

    protocol = yaml.safe_load((balance_lab / "gravimetric_mix.yaml").read_text())
    protocol["steps"][5]["expected"] = "2.5 g"  # 2 mL of water weighs 2 g: the check trips
    (balance_lab / "gravimetric_mix.yaml").write_text(yaml.safe_dump(protocol, sort_keys=False))
    result = run_campaign(balance_lab / "campaign.yaml", store=balance_lab / "store.sqlite")
    failed = result.trials[0]
    assert failed.status == "failed"
    assert "weighed 2 g, expected 2.5 g within 0.05 g" in (failed.error or "")


def test_diagnostics_check_the_balance_with_check_weights_the_arm_carries(balance_lab: Path):
    from hw_tests import diagnose
    from lab.runtime.lab import build_lab

    lab = build_lab(load_lab_config(balance_lab / "lab.yaml"), connect=False)
    try:
        diagnosis = diagnose(lab, ["balance"])
        cell = lab.world.workcell  # type: ignore[union-attr]
        left = {p: v.id if v else None for p, v in cell.vials_at.items() if p.startswith("check")}
    finally:
        lab.close()
    found = {r.check: r for r in diagnosis.results}
    assert [r.status for r in diagnosis.results] == ["pass"] * 6, diagnosis.results
    assert set(found) == {"connection", "identity", "zero", "repeatability", "drift", "linearity"}
    assert "check_weight_50g" in found["linearity"].detail  # each weight's own error
    # the weights are back where they stand
    assert left == {
        "check_weight_10g": "CW-check_weight_10g",
        "check_weight_50g": "CW-check_weight_50g",
    }


def test_a_balance_silent_mid_weighing_ends_safe_and_the_campaign_resumes(balance_lab: Path):
    """The balance's case of the fault catalogue: its reply to a weighing never comes."""
    from simulators import Fault
    from tests.system.test_fault_catalogue import Bench

    data = yaml.safe_load((balance_lab / "lab.yaml").read_text())
    data["devices"]["balance"]["transport"]["timeout"] = "1 s"  # silent found in a second
    (balance_lab / "lab.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    bench = Bench(balance_lab, balance_lab / "store.sqlite")
    try:
        assert bench.run(1).stopped is None
        before = bench.completed()
        bench.world.servers["balance"].inject(Fault.NO_REPLY, on="T")  # the tare of a weigh
        result = bench.run(3)
        assert result.stopped is not None and "balance" in result.stopped, result.stopped
        assert "no complete reply" in result.stopped
        assert bench.statuses() == ["completed", "failed"]
        failed = bench.store.trials(bench.name)[1]
        assert failed.run_uid is not None and bench.store.documents(failed.run_uid)
        bench.assert_safe()
        bench.resume_completes(before)  # the vial left on the pan is cleared first
    finally:
        bench.close()
