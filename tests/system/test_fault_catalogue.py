"""The fault catalogue (docs/recovery.md): each fault is injected through the simulators
(on the real wires) or into the process, and each test asserts that the lab ends in a
verified safe state, that nothing already measured is lost, and that the campaign resumes
and its next trial completes. Faults that need a process of their own (kill -9, a second
process) are in test_recovery.py."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy

from devices import parse_quantity
from lab import CampaignRunner, Store, build_lab
from lab.api import prepare
from lab.errors import ConfigError
from lab.runtime.lab import threaded_run_engine
from lab.runtime.process import LabProcess
from planners import Suggestion
from simulators import Fault
from tests.conftest import edit_yaml

pytestmark = pytest.mark.system


class Bench:
    """A simulated lab over its real wires, a store, and a campaign runner on them."""

    def __init__(self, example_dir: Path, store: Path) -> None:
        prepared = prepare(example_dir / "campaign.yaml")
        self.name = prepared.campaign.name
        self.store = Store(store)
        self.lab = build_lab(prepared.lab, self.store, run_engine=threaded_run_engine())
        self.estops: list = []
        self.running = False
        assert self.lab.world is not None
        self.world = self.lab.world
        self.process = LabProcess.of(self.lab)  # the latch, its executor, the watchdog
        self.safety = self.process.safety
        assert self.process.executor is not None and self.process.watchdog is not None
        self.executor = self.process.executor
        self.watchdog = self.process.watchdog
        self.prepared = prepared
        self.runner = self.new_runner()
        self.process.before_emergency_stop(self.stop_campaign)
        self.process.after_emergency_stop(self.estops.append)
        self.process.start()

    def stop_campaign(self, reason: str) -> None:
        """As the lab server stops only a campaign in progress."""
        if self.running:
            self.runner.request_stop(reason)

    def new_runner(self) -> CampaignRunner:
        """A runner as a restarted process makes it: the planner knows only the store."""
        p = self.prepared
        return CampaignRunner(self.lab, p.campaign, p.protocol, self.store, self.executor)

    def run(self, trials: int):
        self.running = True
        try:
            return self.runner.run(trials=trials)
        finally:
            self.watchdog.settle()  # as run_campaign does before it reports
            self.running = False

    def statuses(self) -> list[str]:
        return [t.status for t in self.store.trials(self.name)]

    def on(self, device: str, command: str, action: Callable[[], None]) -> None:
        """``action`` runs (in the simulators' loop) as ``command`` reaches ``device``."""
        firmware = self.world.firmware[device]

        def hook(name: str) -> None:
            if name == command:
                firmware.on_command = None
                action()

        firmware.on_command = hook

    def later(self, action: Callable[[], object], seconds: float) -> None:
        asyncio.get_running_loop().call_later(seconds, action)

    def in_loop(self, action: Callable[[], object]) -> None:
        """Run ``action`` in the simulators' event loop (a pty is plugged in there)."""

        async def call() -> None:
            action()

        self.lab.call(call())

    def assert_safe(self) -> None:
        station = self.world.station
        assert station.rpm == 0, "the stirrer was left running"
        assert station.setpoint_c == station.ambient_c, "the heater was left on"

    def completed(self) -> dict[int, dict[str, float]]:
        return {t.idx: t.outcomes for t in self.store.trials(self.name) if t.status == "completed"}

    def resume_completes(self, before: dict[int, dict[str, float]]) -> None:
        """Nothing measured is lost, and a resume runs the next trial to completion."""
        spent = len(self.store.trials(self.name))
        result = self.run(spent + 1)
        assert result.stopped is None, result.stopped
        records = self.store.trials(self.name)
        assert records[-1].status == "completed", records[-1].error
        for idx, outcomes in before.items():
            assert self.completed()[idx] == outcomes  # kept, unchanged
        assert self.lab.start_state_problems() == []

    def close(self) -> None:
        self.process.close()
        self.lab.close()


@pytest.fixture
def bench(example_dir: Path, tmp_path: Path) -> Iterator[Bench]:
    def quick(lab: dict) -> None:  # a silent device is found in a second, not ten
        for name in ("arm", "spectrometer"):
            lab["devices"][name]["transport"]["timeout"] = "1 s"
        lab["devices"]["station"]["stale_after"] = "1 s"
        lab["watchdog_period"] = "0.1 s"

    edit_yaml(example_dir / "lab.yaml", quick)
    lab = Bench(example_dir, tmp_path / "store.sqlite")
    lab.run(1)
    assert lab.statuses() == ["completed"]
    yield lab
    lab.close()


def _after_a_stopping_fault(bench: Bench, words: str) -> None:
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and words in result.stopped, result.stopped
    assert bench.statuses() == ["completed", "failed"]
    failed = bench.store.trials(bench.name)[1]
    assert failed.run_uid is not None  # the failed run's documents are kept
    assert bench.store.documents(failed.run_uid)[-1][0] == "stop"
    bench.assert_safe()
    bench.resume_completes(before)


# --- serial wire faults ------------------------------------------------------------------------
def test_serial_unplug_mid_move(bench: Bench):
    arm = bench.world.servers["arm"]
    bench.on("arm", "MOVE", arm.disconnect)
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and "arm" in result.stopped
    bench.assert_safe()
    result = bench.run(3)  # still unplugged: refused with the reason, nothing runs
    assert result.stopped is not None and "the workcell cannot be read" in result.stopped
    assert bench.statuses() == ["completed", "failed"]
    bench.in_loop(arm.reconnect)
    bench.resume_completes(before)


@pytest.mark.parametrize("fault", [Fault.NO_REPLY, Fault.GARBLED, Fault.PARTIAL])
def test_a_bad_reply_to_a_move(bench: Bench, fault: Fault):
    bench.world.servers["arm"].inject(fault, on="MOVE")
    _after_a_stopping_fault(bench, "arm")


def test_a_bad_reply_to_a_query_is_retried(bench: Bench):
    for fault in (Fault.NO_REPLY, Fault.GARBLED, Fault.PARTIAL):
        bench.world.servers["spectrometer"].inject(fault, on="VIAL?")
    before = bench.completed()
    result = bench.run(2)
    assert result.stopped is None and bench.statuses() == ["completed", "completed"]
    assert bench.completed()[0] == before[0]


# --- OPC UA faults -----------------------------------------------------------------------------
def test_opcua_server_restart_mid_dispense(bench: Bench):
    plc = bench.world.servers["station"]
    bench.on("station", "DISP", lambda: asyncio.ensure_future(plc.restart(0.3)))
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and "station" in result.stopped
    assert bench.statuses() == ["completed", "failed"]
    bench.assert_safe()
    # the interlocks are read during the dispense too: a PLC silent for longer than
    # stale_after counts as tripped, busy or not
    assert bench.safety.latched is not None and "heartbeat lost" in bench.safety.latched.reason
    bench.safety.reset()  # staff
    bench.resume_completes(before)


def test_opcua_server_restart_while_stirring(bench: Bench):
    plc = bench.world.servers["station"]
    bench.on("station", "STIR", lambda: asyncio.ensure_future(plc.restart(0.3)))
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and "station" in result.stopped
    assert "LEFT UNSAFE" not in result.stopped  # the stop was retried through the reconnect
    bench.assert_safe()
    # the PLC was silent for longer than stale_after: the leak interlock could not be read,
    # so it counted as tripped and latched the emergency stop, confirmed after the reconnect
    assert bench.safety.latched is not None and "heartbeat lost" in bench.safety.latched.reason
    assert bench.estops[0].confirmed, bench.estops[0].devices
    bench.safety.reset()  # staff
    bench.resume_completes(before)


def test_a_station_in_its_error_state_refuses_stop_and_is_reported_unsafe(bench: Bench):
    station = bench.world.station

    def jam() -> None:
        bench.later(lambda: setattr(station, "error_state", "stirrer motor stalled"), 0.01)

    bench.on("station", "STIR", jam)
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and "LEFT UNSAFE" in result.stopped, result.stopped
    # truly unsafe, the report must not claim otherwise: the heater still set for the trial
    # (the stirrer's own timer may have stopped it since)
    assert station.setpoint_c != station.ambient_c
    station.error_state = None  # maintenance
    bench.resume_completes(before)  # the resume stops the station before any trial
    bench.assert_safe()


def test_a_device_error_state_before_a_dispense(bench: Bench):
    bench.world.station.error_state = "pump 1 jammed"
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and "pump 1 jammed" in result.stopped
    bench.assert_safe()
    bench.world.station.error_state = None
    bench.resume_completes(before)


# --- instrument faults -------------------------------------------------------------------------
def test_an_instrument_firmware_that_raises(bench: Bench):
    spec = bench.world.firmware["spectrometer"]
    truth = spec.ground_truth  # type: ignore[attr-defined]

    def raises(*args):
        raise ZeroDivisionError("model bug")

    spec.ground_truth = raises  # type: ignore[attr-defined]
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and "internal fault in ACQ" in result.stopped
    bench.assert_safe()
    spec.ground_truth = truth  # type: ignore[attr-defined]
    bench.world.servers["spectrometer"].firmware.error_state = None  # power cycle
    bench.resume_completes(before)


@pytest.mark.parametrize(("bad", "words"), [(np.nan, "not finite"), (np.inf, "saturated")])
def test_a_measurement_that_is_not_a_number_or_saturated(bench: Bench, bad: float, words: str):
    spec = bench.world.firmware["spectrometer"]
    truth = spec.ground_truth  # type: ignore[attr-defined]
    spec.ground_truth = lambda *a: np.full(101, bad)  # type: ignore[attr-defined]
    before = bench.completed()
    bench.run(2)
    failed = bench.store.trials(bench.name)[1]
    assert failed.status == "failed" and words in (failed.error or "")
    assert bench.runner.planner.best()[0].index == 0  # never "best"
    bench.assert_safe()
    spec.ground_truth = truth  # type: ignore[attr-defined]
    bench.resume_completes(before)


# --- the emergency stop ------------------------------------------------------------------------
@pytest.mark.parametrize(("device", "command"), [("station", "DISP"), ("arm", "MOVE")])
def test_emergency_stop_during_a_step(bench: Bench, device: str, command: str):
    def press() -> None:  # the lab server's button
        threading.Thread(target=bench.process.emergency_stop, args=("test",)).start()

    bench.on(device, command, press)
    before = bench.completed()
    result = bench.run(3)
    reports = bench.estops
    assert reports and reports[0].confirmed and reports[0].by == "test", reports
    assert result.stopped is not None and "emergency stop by test" in result.stopped
    assert bench.statuses() == ["completed", "failed"]
    bench.assert_safe()
    assert bench.safety.refusal() is not None  # latched: nothing runs until a reset
    bench.safety.reset()
    bench.resume_completes(before)


def test_one_device_that_cannot_stop_does_not_keep_the_others_running(bench: Bench):
    bench.in_loop(bench.world.servers["arm"].disconnect)
    report = bench.process.emergency_stop("test")
    assert report.devices["station"] == "safe" and report.devices["spectrometer"] == "safe"
    assert report.devices["arm"] != "safe" and not report.confirmed
    bench.in_loop(bench.world.servers["arm"].reconnect)
    bench.safety.reset()
    bench.resume_completes(bench.completed())


# --- planner faults ----------------------------------------------------------------------------
def test_a_planner_that_raises_while_fitting(bench: Bench, monkeypatch):
    def fails(n: int = 1):
        raise RuntimeError("Cholesky decomposition failed")

    monkeypatch.setattr(bench.runner.planner, "ask", fails)
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and "Cholesky" in result.stopped
    assert bench.statuses() == ["completed"]
    monkeypatch.undo()
    bench.resume_completes(before)


@pytest.mark.parametrize("value", [np.nan, 99.0])
def test_a_planner_that_proposes_outside_the_space(bench: Bench, monkeypatch, value: float):
    planner = bench.runner.planner
    real_ask = planner.ask

    def bad_ask(n: int = 1) -> list[Suggestion]:
        [s] = real_ask(n)
        s.parameters["cyan"] = value * s.parameters["cyan"].units
        return [s]

    monkeypatch.setattr(planner, "ask", bad_ask)
    before = bench.completed()
    bench.run(2)
    failed = bench.store.trials(bench.name)[1]
    assert failed.status == "failed" and "the planner proposed cyan" in (failed.error or "")
    assert failed.run_uid is None  # nothing ran
    monkeypatch.undo()
    bench.resume_completes(before)


# --- what a killed process leaves behind -------------------------------------------------------
def test_instruments_left_running_by_a_killed_process_are_stopped_first(bench: Bench):
    station = bench.world.station
    station.set_stir(600)
    station.set_temperature(54.5)
    time.sleep(0.3)  # the PLC publishes its state once per scan cycle
    assert bench.lab.start_state_problems()
    bench.resume_completes(bench.completed())
    bench.assert_safe()


# --- the store ---------------------------------------------------------------------------------
def test_disk_full_while_writing(bench: Bench):
    """SQLite's own size limit (max_page_count) makes every write fail as a full disk does."""

    def full(dbapi, record) -> None:
        cursor = dbapi.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    engine = bench.store.engine
    sqlalchemy.event.listen(engine, "connect", full)
    engine.dispose()
    before = bench.completed()
    result = bench.run(3)

    assert result.stopped is not None and "the store cannot be written" in result.stopped
    assert "disk is full" in result.stopped
    bench.assert_safe()
    sqlalchemy.event.remove(engine, "connect", full)  # space freed
    engine.dispose()
    assert bench.completed() == before  # what was stored before is intact
    bench.resume_completes(before)


def test_a_trial_proposed_but_never_started_runs_on_restart_under_its_own_number(bench: Bench):
    recipe = {
        "cyan": parse_quantity("1.0 milliliter"),
        "magenta": parse_quantity("0.5 milliliter"),
        "yellow": parse_quantity("0.25 milliliter"),
        "temperature": parse_quantity("40.0 degree_Celsius"),
    }
    bench.store.add_trial(bench.name, 1, recipe, "sobol/sobol")  # then the process died
    before = bench.completed()
    bench.runner = bench.new_runner()
    result = bench.run(2)
    assert result.stopped is None and bench.statuses() == ["completed", "completed"]
    assert bench.store.trials(bench.name)[1].parameters == recipe
    bench.resume_completes(before)


# --- the sample ledger -------------------------------------------------------------------------
def test_the_ledger_after_a_failed_dispense(bench: Bench):
    """Magenta's pump jams: the vial holds only what the station confirmed (its cyan), the
    ledger says where it is, and after the resume that it went to the waste."""
    magenta = next(r for r in bench.world.station.pumps.values() if r.reagent == "magenta")
    magenta.jammed = True
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and "jammed" in result.stopped
    failed = bench.store.trials(bench.name)[1]
    assert failed.sample_id is not None
    sample = bench.store.sample(failed.sample_id)
    assert sample is not None and sample["fate"] == "left in the workcell by a failed trial"
    cyan = failed.parameters["cyan"]
    assert list(sample["composition"]) == ["cyan"]  # no magenta, nothing after it
    assert parse_quantity(sample["composition"]["cyan"]).m_as("mL") == pytest.approx(
        cyan.m_as("mL"), abs=1e-6
    )
    stray = bench.world.workcell.vials_at["synthesis_station"]
    assert stray is not None and stray.id == failed.sample_id
    magenta.jammed = False
    bench.resume_completes(before)
    sample = bench.store.sample(failed.sample_id)
    assert sample is not None and sample["fate"] == "waste: cleared after a fault"
    assert list(sample["composition"]) == ["cyan"]
    completed = bench.store.trials(bench.name)[-1]
    ledger = bench.store.sample(completed.sample_id)
    assert ledger is not None and set(ledger["composition"]) == {
        "cyan",
        "magenta",
        "yellow",
        "water",
    }


# --- interlocks and the heartbeat ----------------------------------------------------------------
def test_a_door_opened_pauses_between_steps_until_it_closes(bench: Bench):
    station = bench.world.station
    bench.on("station", "DISP", lambda: setattr(station, "door_open", True))
    results: list = []
    worker = threading.Thread(target=lambda: results.append(bench.run(2)))
    worker.start()
    deadline = time.monotonic() + 30
    while "door" not in bench.watchdog.tripped and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "station.door_open is on" in bench.watchdog.tripped["door"]
    time.sleep(1.0)
    assert bench.executor.state == "paused" and results == []  # held between steps
    station.door_open = False
    worker.join(60)
    assert results and results[0].stopped is None
    assert bench.statuses() == ["completed", "completed"]  # the paused trial went on


def test_a_leak_during_an_arm_move_stops_everything(bench: Bench):
    station = bench.world.station
    bench.on("arm", "MOVE", lambda: setattr(station, "leak", True))
    before = bench.completed()
    result = bench.run(3)
    assert result.stopped is not None and "interlock leak" in result.stopped
    assert bench.estops and bench.estops[0].confirmed
    assert bench.statuses() == ["completed", "failed"]
    bench.assert_safe()
    station.leak = False
    bench.safety.reset()
    bench.resume_completes(before)


def test_over_temperature_stops_everything(bench: Bench):
    station = bench.world.station
    station.setpoint_c = station._t_from = 120.0  # a runaway heater: the block at 120 degC
    deadline = time.monotonic() + 30
    while not bench.estops and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "over_temperature" in bench.watchdog.tripped
    assert bench.estops and "above 95 degC" in bench.estops[0].reason
    assert bench.estops[0].by == "interlock over_temperature"
    assert station.setpoint_c == station.ambient_c  # the stop put the heater back
    bench.safety.reset()
    bench.resume_completes(bench.completed())


def test_a_lost_heartbeat_counts_as_tripped(bench: Bench):
    plc = bench.world.servers["station"]
    bench.in_loop(lambda: asyncio.ensure_future(plc.stop()))
    deadline = time.monotonic() + 30
    while not bench.estops and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bench.estops, bench.watchdog.tripped
    assert "heartbeat lost" in bench.estops[0].reason
    bench.in_loop(lambda: asyncio.ensure_future(plc.start()))
    deadline = time.monotonic() + 30
    while bench.watchdog.tripped and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)  # the reconnect has settled
    assert not bench.watchdog.tripped  # the heartbeat is back
    bench.safety.reset()
    bench.resume_completes(bench.completed())


# --- interlocks during a command (both station transports, on a slow clock) ---------------------
#: slow enough that a command lasts many watchdog periods: 2 mL at 6 mL/min is 20 s of lab time
SPEED, PERIOD_S, STALE_S = 10.0, 0.1, 0.5
WATER_PUMP, RATE_ML_MIN = 4, 6.0


@dataclass
class Trip:
    """When an interlock tripped, the instrument's stop, and what the water pump delivered."""

    at: tuple[float, float]  # (lab, wall monotonic) seconds
    level: float  # the water reservoir's level then (mL)


class ReactionBench(Bench):
    """The bench on a slow clock, the long water dispense first in the protocol, and helpers
    that trip an input some lab time into a command and measure what followed."""

    def __init__(self, example_dir: Path, store: Path) -> None:
        super().__init__(example_dir, store)
        self.world.station.tau_s = 2.0  # the block settles in seconds: the heat is not the test
        self.trip: Trip | None = None

    def after(self, command: str, lab_s: float, action: Callable[[], None]) -> None:
        """``action`` runs ``lab_s`` of lab time after ``command`` reaches the station."""
        self.on("station", command, lambda: self.later(action, lab_s / SPEED))

    def trip_now(self, set_input: Callable[[], None]) -> None:
        station = self.world.station
        self.trip = Trip((station.clock.now(), time.monotonic()), station.level(WATER_PUMP))
        set_input()

    def reaction(self) -> dict[str, float]:
        """From the trip to the station's emergency stop: lab and wall seconds, and the
        water pumped after the trip (mL)."""
        station = self.world.station
        assert self.trip is not None and station.stopped_at is not None, self.watchdog.tripped
        return {
            "lab_s": station.stopped_at[0] - self.trip.at[0],
            "wall_s": station.stopped_at[1] - self.trip.at[1],
            "after_trip_ml": self.trip.level - station.level(WATER_PUMP),
        }

    def assert_within_bounds(self, reaction: dict[str, float]) -> None:
        """The stop came within watchdog_period + stale_after, and the pump delivered
        nothing beyond what it pumps in that time."""
        bound_s = PERIOD_S + STALE_S
        assert 0 <= reaction["wall_s"] <= bound_s, reaction
        assert reaction["lab_s"] <= bound_s * SPEED, reaction
        # what it pumps until the stop, and within the 20 ms of lab time the stop takes to
        # book it (the station stamps the stop, then stops each pump)
        pumped = RATE_ML_MIN / 60 * (reaction["lab_s"] + 0.02)
        assert reaction["after_trip_ml"] <= pumped, reaction
        _record(reaction)


def _record(reaction: dict[str, float]) -> None:
    """bench/interlock_reaction.py collects what each case measured (when it asks)."""
    out = os.environ.get("SDL_INTERLOCK_MEASUREMENTS")
    if out:
        case = os.environ["PYTEST_CURRENT_TEST"].split("::")[-1].split(" ")[0]
        with open(out, "a") as f:
            f.write(json.dumps({"case": case, **reaction}) + "\n")


def _reaction_bench(example_dir: Path, store: Path, transport: str, door: str) -> ReactionBench:
    def slow(lab: dict) -> None:
        lab["simulation"]["clock_speed"] = SPEED
        lab["watchdog_period"] = f"{PERIOD_S} s"
        station = lab["devices"]["station"]
        station["stale_after"] = f"{STALE_S} s"
        if transport == "serial":
            station["transport"] = {"type": "serial", "timeout": "1 s"}
        lab["interlocks"]["door"]["action"] = door
        for name in ("arm", "spectrometer"):
            lab["devices"][name]["transport"]["timeout"] = "1 s"

    def water_first(protocol: dict) -> None:  # the long dispense is the station's first DISP
        steps = protocol["steps"]
        water = next(s for s in steps if s.get("reagent") == "water")
        steps.remove(water)
        steps.insert(1, {**water, "rate": f"{RATE_ML_MIN} mL/min"})
        stir = next(s for s in steps if s["step"] == "stir")
        stir["duration"] = "30 s"

    edit_yaml(example_dir / "lab.yaml", slow)
    edit_yaml(example_dir / "colour_mix.yaml", water_first)
    edit_yaml(
        example_dir / "campaign.yaml",
        lambda c: c["parameters"].update(temperature={"min": "25 degC", "max": "30 degC"}),
    )
    return ReactionBench(example_dir, store)


@pytest.fixture(params=["opcua", "serial"])
def reacting(request, example_dir: Path, tmp_path: Path) -> Iterator[ReactionBench]:
    """Every interlock stops everything (the door too, as a lab with a light curtain has it)."""
    bench = _reaction_bench(example_dir, tmp_path / "store.sqlite", request.param, "emergency_stop")
    yield bench
    bench.close()


@pytest.fixture(params=["opcua", "serial"])
def pausing(request, example_dir: Path, tmp_path: Path) -> Iterator[ReactionBench]:
    """As the example has it: the door pauses between steps."""
    bench = _reaction_bench(example_dir, tmp_path / "store.sqlite", request.param, "pause")
    yield bench
    bench.close()


def _stopped_in_time(bench: ReactionBench, words: str) -> dict[str, float]:
    """One trial, cut by the trip: the campaign stops with the reason, the trial is failed
    with it, the station is safe, and the ledger holds what the pump truly delivered."""
    result = bench.run(1)
    assert result.stopped is not None and words in result.stopped, result.stopped
    reaction = bench.reaction()
    bench.assert_within_bounds(reaction)
    [trial] = bench.store.trials(bench.name)
    assert trial.status == "failed" and words in (trial.error or ""), trial.error
    bench.assert_safe()
    assert bench.estops and bench.estops[0].confirmed
    assert trial.sample_id is not None
    sample = bench.store.sample(trial.sample_id)
    vial = bench.world.workcell.vials_at["synthesis_station"]
    assert sample is not None and vial is not None
    booked = {r: parse_quantity(v).m_as("mL") for r, v in sample["composition"].items()}
    assert booked == pytest.approx(vial.contents_ml, abs=1e-4)  # what the vial truly holds
    return reaction


def test_a_leak_during_a_long_dispense_stops_it_at_once(reacting: ReactionBench):
    station = reacting.world.station
    reacting.after("DISP", 3.0, lambda: reacting.trip_now(lambda: setattr(station, "leak", True)))
    _stopped_in_time(reacting, "interlock leak")
    water = reacting.world.workcell.vials_at["synthesis_station"].contents_ml["water"]
    assert 0.25 < water < 2.0  # 3 s at 6 mL/min and the reaction: cut short, and booked


def test_a_door_opened_during_a_dispense_stops_it_at_once(reacting: ReactionBench):
    station = reacting.world.station
    reacting.after(
        "DISP", 3.0, lambda: reacting.trip_now(lambda: setattr(station, "door_open", True))
    )
    _stopped_in_time(reacting, "interlock door")


def test_a_one_second_leak_pulse_during_a_dispense_is_seen(reacting: ReactionBench):
    station = reacting.world.station

    def pulse() -> None:
        reacting.trip_now(lambda: setattr(station, "leak", True))
        reacting.later(lambda: setattr(station, "leak", False), 1.0 / SPEED)

    reacting.after("DISP", 3.0, pulse)
    _stopped_in_time(reacting, "interlock leak")


def test_a_leak_during_a_long_stir_stops_it_at_once(reacting: ReactionBench):
    station = reacting.world.station
    reacting.after("STIR", 3.0, lambda: reacting.trip_now(lambda: setattr(station, "leak", True)))
    _stopped_in_time(reacting, "interlock leak")
    assert reacting.reaction()["after_trip_ml"] == 0  # nothing was pumping


def test_an_over_temperature_during_a_stir_stops_it_at_once(reacting: ReactionBench):
    station = reacting.world.station

    def runaway() -> None:  # the block jumps past 95 degC (a heater that ran away)
        station.setpoint_c = station._t_from = 120.0

    reacting.after("STIR", 3.0, lambda: reacting.trip_now(runaway))
    _stopped_in_time(reacting, "interlock over_temperature")


def test_an_input_on_and_off_again_between_two_reads_still_trips(bench: Bench):
    station = bench.world.station
    station.leak = True  # within one tick of the simulators' loop: no read can see the level
    station.leak = False
    deadline = time.monotonic() + 10
    while not bench.estops and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bench.estops and "station.leak came on and went off again" in bench.estops[0].reason
    bench.safety.reset()
    bench.resume_completes(bench.completed())


def test_a_door_pulse_during_a_dispense_pauses_after_it_and_goes_on(
    pausing: ReactionBench, caplog: pytest.LogCaptureFixture
):
    """The door opens and closes again within the dispense: the pause it asked for lands
    after the dispense, nothing new is sent meanwhile, and the trial goes on by itself
    (a resume that came before the pause landed is not lost)."""
    station = pausing.world.station

    def door_pulse() -> None:
        pausing.trip_now(lambda: setattr(station, "door_open", True))
        pausing.later(lambda: setattr(station, "door_open", False), 1.0 / SPEED)

    pausing.after("DISP", 3.0, door_pulse)  # the water: 20 s of lab time
    result = pausing.run(1)
    assert result.stopped is None, result.stopped
    [trial] = pausing.store.trials(pausing.name)
    assert trial.status == "completed", trial.error
    assert pausing.trip is not None and not pausing.estops
    final = station.level(WATER_PUMP)
    assert final + 0.1 < pausing.trip.level < final + 1.9  # the door opened mid-dispense
    assert "interlock door tripped: station.door_open" in caplog.text
    # the water dispense ran to its end: a pause lands between steps, never inside one
    assert trial.sample_id is not None
    sample = pausing.store.sample(trial.sample_id)
    assert sample is not None
    assert parse_quantity(sample["composition"]["water"]).m_as("mL") == pytest.approx(2.0)


def test_an_interlock_on_a_signal_not_read_in_real_time_is_refused(example_dir: Path, tmp_path):
    """A reservoir level is read by a query that waits behind a dispense: an interlock on it
    would go blind exactly while the pump runs, so the lab refuses it before it starts."""
    dry = {"signal": "station.pumps.1.level", "above": "1 L"}
    refused = _refused_interlock(example_dir, tmp_path, dry)
    assert refused.source == "lab.yaml"
    assert (
        "interlocks.bad.signal: station.pumps.1.level is not read while station runs a command"
        in str(refused)
    )
    assert "station.door_open, station.leak, station.heater.temperature" in str(refused)


def _refused_interlock(example_dir: Path, tmp_path: Path, interlock: dict) -> ConfigError:
    """The lab process's refusal of a lab file with ``interlock`` added (as ``bad``)."""
    edit_yaml(example_dir / "lab.yaml", lambda lab: lab["interlocks"].update(bad=interlock))
    prepared = prepare(example_dir / "campaign.yaml")
    lab = build_lab(prepared.lab, Store(tmp_path / "store.sqlite"))
    try:
        with pytest.raises(ConfigError) as info:
            LabProcess.of(lab)
    finally:
        lab.close()
    return info.value


@pytest.mark.parametrize(
    ("interlock", "words"),
    [
        (
            {"signal": "station.heater.temperature", "above": None},
            "interlocks.bad.above: station.heater.temperature is a number (degC): say above",
        ),
        (
            {"signal": "station.heater.temperature", "above": "1 kg"},
            "interlocks.bad.above: '1 kg' cannot be compared with station.heater.temperature",
        ),
        (
            {"signal": "station.leak", "above": "1 degC"},
            "interlocks.bad.above: station.leak is on or off: it trips when on",
        ),
    ],
)
def test_an_interlock_that_does_not_fit_its_signal_is_refused_before_the_lab_starts(
    example_dir: Path, tmp_path, interlock, words
):
    """Once accepted and found only when the watchdog first compared a reading: a traceback
    mid-run (an ``above`` of null on a temperature, or of another dimension)."""
    assert words in str(_refused_interlock(example_dir, tmp_path, interlock))


def test_a_heater_stuck_on_is_reported_left_unsafe_though_its_setpoint_reads_safe(bench: Bench):
    """Once the block rose to 250 degC after the emergency stop and the command exited 3:
    the safe state read the setpoint and the stirrer, never the temperature."""
    station = bench.world.station
    assert bench.lab.cooling_problems() == []  # a block at ambient stays there

    def heat_and_stick() -> None:
        station.set_temperature(70.0)

    bench.in_loop(heat_and_stick)
    time.sleep(0.3)  # 300 s of lab time: the block is warm
    bench.in_loop(station.stop)  # the safe state: setpoint back to ambient, it cools
    assert bench.lab.cooling_problems() == []  # a warm block that cools is safe
    bench.in_loop(lambda: setattr(station, "heater_stuck", True))
    problems = bench.lab.cooling_problems()
    assert len(problems) == 1 and problems[0].startswith(
        "station-heater: LEFT UNSAFE: the block rose"
    )
    assert "s with the heater set to 25 degC: the heater may be stuck on" in problems[0]
    assert station.setpoint_c == station.ambient_c  # what the old check read: "safe"
    bench.in_loop(lambda: setattr(station, "heater_stuck", False))
