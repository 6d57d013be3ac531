"""Every device kind in ophyd-async's mock mode: nothing is opened, plans run against
mock signals, and what a plan writes is seen with the ophyd-async test helpers."""

from __future__ import annotations

from typing import Any

import bluesky.plan_stubs as bps
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.run_engine import call_in_bluesky_event_loop as run
from bluesky.utils import FailedStatus
from ophyd_async.core import callback_on_mock_put, get_mock_execute, set_mock_value
from ophyd_async.testing import assert_reading, assert_value

from devices import (
    Analyser,
    AsciiAnalyserDriver,
    AsciiArmDriver,
    AsciiSpectrometerDriver,
    AsciiStationDriver,
    DeviceFault,
    InProcessTransport,
    LimitViolation,
    Range,
    RoboticArm,
    Spectrometer,
    SynthesisStation,
    Timer,
)
from devices.epics import BlockPvs, EpicsDriver, EpicsHeatingBlock
from devices.sila import FEATURE, SilaDriver, SilaHeatingBlock
from simulators import SimClock


class Untouchable:
    """A wire that fails the test if a device in mock mode uses it."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, line: str) -> str:
        self.lines.append(line)
        raise AssertionError(f"a mocked device sent {line!r}")


@pytest.fixture
def re() -> RunEngine:
    return RunEngine({}, call_returns_result=True)


@pytest.fixture
def wire() -> Untouchable:
    return Untouchable()


def mocked(re: RunEngine, device):
    """``device`` connected in mock mode on the RunEngine's loop."""
    run(device.connect(mock=True))
    return device


def test_a_mocked_arm_moves_and_grips_and_refuses_a_place_it_cannot_reach(re, wire):
    arm = mocked(
        re,
        RoboticArm(
            AsciiArmDriver(InProcessTransport(wire, "arm"), "arm"), ["rack", "slot"], name="arm"
        ),
    )
    re(bps.mv(arm, "slot"))
    run(assert_reading(arm, {"arm": {"value": "slot"}, "arm-holding": {"value": ""}}))
    assert run(arm.setpoint.get_value()) == "slot"
    re(bps.mv(arm.gripper, "closed"))
    run(assert_value(arm.gripper.state, "closed"))
    with pytest.raises(LimitViolation, match="'moon' is not reachable"):
        re(bps.mv(arm, "moon"))
    assert wire.lines == []


def test_a_mocked_station_takes_setpoints_dispenses_and_reports_units(re, wire):
    station = mocked(
        re,
        SynthesisStation(
            AsciiStationDriver(InProcessTransport(wire, "station"), "station"),
            SimClock(1000.0),
            reagents={1: "cyan"},
            vial_capacity=Range(0, 10, "mL"),
            temperature=Range(20, 90, "degC"),
            stir_speed=Range(100, 1000, "rpm"),
            dispense_rate=Range(0.1, 10, "mL/min"),
            name="station",
        ),
    )
    re(bps.mv(station.heater, "60 degC", station.stirrer, 300))
    assert re(bps.rd(station.heater.setpoint)).plan_result == pytest.approx(60.0)
    assert re(bps.rd(station.heater)).plan_result == pytest.approx(
        60.0
    )  # the readback, arrived at once
    assert re(bps.rd(station.stirrer)).plan_result == pytest.approx(300.0)
    described = run(station.describe())
    assert described["station-heater"]["units"] == "degC"
    assert described["station-pumps-1-level"]["units"] == "mL"
    names = station.reading_names()  # what a person reads them by
    assert names["station-pumps-1-level"] == "cyan level"
    assert names["station-heater"] == "heater temperature"  # the readback, by its path
    assert names["station-door_open"] == "door open"

    set_mock_value(station.pumps[1].level, 2.0)
    re(bps.mv(station.pumps[1], "1.5 mL"))
    get_mock_execute(station.pumps[1].dispense).assert_awaited_once_with(1.5, 10.0)
    with pytest.raises(FailedStatus) as failed:
        re(bps.mv(station.pumps[1], "3 mL"))  # the mock's level stays where the test put it
    assert isinstance(failed.value.__cause__, LimitViolation)
    assert "needs 3 mL of cyan, reservoir holds 2 mL" in str(failed.value.__cause__)
    set_mock_value(station.door_open, True)
    run(assert_value(station.door_open, True))
    assert wire.lines == []


def test_a_mocked_heater_settles_only_when_its_readback_arrives(re, wire):
    station = SynthesisStation(
        AsciiStationDriver(InProcessTransport(wire, "station"), "station"),
        SimClock(1e5),  # an hour of patience is 36 ms
        reagents={1: "cyan"},
        vial_capacity=Range(0, 10, "mL"),
        temperature=Range(20, 90, "degC"),
        stir_speed=Range(100, 1000, "rpm"),
        dispense_rate=Range(0.1, 10, "mL/min"),
        name="station",
    )
    mocked(re, station)
    heater = station.heater
    asked: list[float] = []

    def block_stuck_at_55(value: float) -> None:  # whatever it is asked
        asked.append(value)
        set_mock_value(heater.temperature, 55.0)

    callback_on_mock_put(heater.setpoint, block_stuck_at_55)
    with pytest.raises(FailedStatus) as failed:
        re(bps.mv(heater, 60))
    assert isinstance(failed.value.__cause__, DeviceFault)
    assert "did not reach 60 degC within 3600 s of lab time" in str(failed.value.__cause__)
    assert asked == [60.0]


def test_a_mocked_spectrometer_triggers_and_reads_what_the_test_put(re, wire):
    spec = mocked(
        re,
        Spectrometer(
            AsciiSpectrometerDriver(InProcessTransport(wire, "spec"), "spec"),
            Range(1, 1000, "ms"),
            name="spec",
        ),
    )
    set_mock_value(spec.absorbance, np.array([0.1, 0.2, 0.3]))
    re(bps.mv(spec.integration, "0.05 s"))
    run(assert_value(spec.integration.setpoint, 50.0))
    re(bps.trigger(spec, wait=True))
    reading = run(spec.read())
    assert reading["spec-absorbance"]["value"].tolist() == [0.1, 0.2, 0.3]
    with pytest.raises(LimitViolation, match="integration time"):
        re(bps.mv(spec.integration, "5 s"))
    assert wire.lines == []


def test_a_mocked_analyser_reports_the_quantities_the_test_sets(re, wire):
    hplc = mocked(
        re,
        Analyser(
            AsciiAnalyserDriver(InProcessTransport(wire, "hplc"), "hplc"),
            {"yield": "percent"},
            name="hplc",
        ),
    )
    set_mock_value(hplc.results["yield"], 42.0)
    re(bps.trigger(hplc, wait=True))
    run(assert_reading(hplc, {"hplc-yield": {"value": 42.0}, "hplc-vial": {"value": ""}}))
    assert run(hplc.describe())["hplc-yield"]["units"] == "percent"
    assert wire.lines == []


def test_an_analyser_field_may_not_take_a_name_the_device_uses():
    with pytest.raises(ValueError, match=r"\['driver', 'vial'\] are taken"):
        Analyser(
            AsciiAnalyserDriver(InProcessTransport(Untouchable(), "hplc"), "hplc"),
            {"vial": "percent", "driver": "percent", "purity": "percent"},
        )


def test_a_mocked_timer_waits_on_the_lab_clock(re):
    timer = mocked(re, Timer(SimClock(1e6), name="timer"))
    re(bps.mv(timer, "1 h"))


def _block() -> EpicsHeatingBlock:
    """A heating block on PVs of an IOC that does not exist: mock mode never looks."""
    pvs = BlockPvs(*(f"ca://NOWHERE:{s}" for s in ("SP", "T", "RAMP", "ID", "ESTOP", "VIAL")))
    return EpicsHeatingBlock(
        EpicsDriver("block", "EPICS CA NOWHERE:*", timeout=1.0),
        pvs,
        SimClock(1e5),
        Range(20, 90, "degC"),
        name="block",
    )


def test_a_mocked_epics_block_heats_when_its_temperature_pv_arrives_and_keeps_its_units(re):
    block = mocked(re, _block())
    callback_on_mock_put(
        block.heater.setpoint, lambda v: set_mock_value(block.heater.temperature, v)
    )
    re(bps.mv(block.heater, "140 degF"))  # 60 degC
    assert run(block.heater.setpoint.get_value()) == pytest.approx(60.0)
    described = run(block.describe())
    assert described["block-heater"]["units"] == "degC"
    assert run(block.read())["block-heater"]["value"] == pytest.approx(60.0)
    with pytest.raises(LimitViolation, match=r"temperature 95 °C is outside 20\.\.90 °C"):
        block.heater.set(95)


def test_a_mocked_epics_block_reports_its_latched_stop_as_its_state(re):
    block = mocked(re, _block())
    assert run(block.driver.state()) == "idle"
    set_mock_value(block.estop, True)
    assert run(block.driver.state()) == "estop"


def test_a_mocked_sila_block_heats_without_a_server(re):
    driver = SilaDriver("block", "127.0.0.1:9", FEATURE, None, timeout=1.0)  # nobody there
    block = mocked(re, SilaHeatingBlock(driver, SimClock(1e5), Range(20, 90, "degC"), name="block"))
    callback_on_mock_put(
        block.heater.setpoint, lambda v: set_mock_value(block.heater.temperature, v)
    )
    re(bps.mv(block.heater, 45))
    assert run(block.read())["block-heater"]["value"] == pytest.approx(45.0)
    assert run(block.describe())["block-heater"]["units"] == "degC"
    assert block.control is None  # no command went to a server


def _plate_devices() -> tuple[Any, Any]:
    """A liquid handler and a plate reader on PyLabRobot machines whose backends fail the
    test if a mocked device reaches them."""
    from pylabrobot.liquid_handling import LiquidHandler as PlrLiquidHandler
    from pylabrobot.plate_reading import PlateReader as PlrPlateReader
    from pylabrobot.resources import OTDeck

    from devices._plr import PlrDriver
    from devices.liquid_handler import Labware, LiquidHandler
    from devices.plate_reader import PlateReader

    plate = Labware("plate", "cor_96_wellplate_360uL_Fb", slot=3)
    labware = [
        Labware("tips", "hamilton_96_tiprack_300uL", slot=1),
        Labware(
            "dyes", "nest_12_troughplate_15000uL_Vb", slot=2, contents={"A1": ("cyan", 5000.0)}
        ),
        plate,
    ]
    handler = LiquidHandler(
        PlrDriver(PlrLiquidHandler(backend=Untouchable(), deck=OTDeck()), "handler", 5.0),
        labware,
        name="handler",
    )
    machine = PlrPlateReader("reader", 130.0, 90.0, 50.0, backend=Untouchable())
    reader = PlateReader(
        PlrDriver(machine, "reader", 5.0), plate, Range(230, 1000, "nm"), name="reader"
    )
    return handler, reader


def test_a_mocked_plate_runs_step_by_step_across_its_wells(re):
    from types import SimpleNamespace

    from devices import Capability
    from protocols import Protocol
    from protocols.plate_plan import run_plate
    from protocols.preflight import DeviceFacts
    from protocols.resources import Resources

    handler, reader = _plate_devices()
    mocked(re, handler)
    mocked(re, reader)
    clock = SimClock(1000.0)
    lab = SimpleNamespace(
        facts={
            "handler": DeviceFacts(frozenset({Capability.PIPETTES})),
            "reader": DeviceFacts(frozenset({Capability.READS_PLATES})),
        },
        others={"handler": handler, "reader": reader},
        resources=Resources(clock),
        timer=None,
    )
    steps = [
        {"step": "pipette", "reagent": "cyan", "volume": "{cyan}"},
        {"step": "mix", "volume": "10 uL", "cycles": 2},
        {"step": "read_plate", "wavelengths": {"min": "500 nm", "max": "520 nm"}},
    ]
    template = Protocol.model_validate({"name": "p", "steps": steps})
    ureg = __import__("pint").get_application_registry()
    protocols = [template.fill({"cyan": ureg.Quantity(v, "uL")}) for v in (20.0, 0.0, 30.0)]
    docs: list[tuple[str, dict]] = []
    re(run_plate(lab, protocols, ["A1", "B1", "C1"]), lambda n, d: docs.append((n, d)))
    pipette = get_mock_execute(handler.pipette)
    # the 0 uL well is skipped (no tip used); every well is mixed; one read of the plate
    assert [c.args for c in pipette.await_args_list] == [
        ("cyan", "plate", "A1", 20.0),
        ("cyan", "plate", "C1", 30.0),
    ]
    assert [c.args for c in get_mock_execute(handler.mix).await_args_list] == [
        ("plate", w, 10.0, 2) for w in ("A1", "B1", "C1")
    ]
    (read,) = get_mock_execute(reader.read_plate).await_args_list
    np.testing.assert_allclose(read.args[0], [500.0, 510.0, 520.0])
    assert read.args[1] == ["A1", "B1", "C1"]
    assert [c.args for c in get_mock_execute(reader.select).await_args_list] == [
        ("A1",),
        ("B1",),
        ("C1",),
    ]
    streams = {d["uid"]: d["name"] for n, d in docs if n == "descriptor"}
    events = [streams[d["descriptor"]] for n, d in docs if n == "event"]
    assert events == ["conditions", "conditions", "primary", "primary", "primary", "conditions"]
    start = next(d for n, d in docs if n == "start")
    assert start["plan_name"] == "run_plate" and start["wells"] == ["A1", "B1", "C1"]
