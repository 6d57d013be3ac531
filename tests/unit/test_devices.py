"""Devices over the in-process transport: limits, units, typed errors, bluesky usage."""

from __future__ import annotations

import asyncio
import threading

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
import pint
import pytest
from bluesky import RunEngine
from bluesky.plans import count as bps_count
from bluesky.run_engine import call_in_bluesky_event_loop

from devices import (
    Analyser,
    AsciiAnalyserDriver,
    AsciiArmDriver,
    AsciiSpectrometerDriver,
    AsciiStationDriver,
    DeviceFault,
    DeviceTimeout,
    InProcessTransport,
    LimitViolation,
    ProtocolError,
    Range,
    RoboticArm,
    Spectrometer,
    SynthesisStation,
    UnitError,
)
from devices._line_protocol import LineChannel
from simulators import (
    AnalyserFirmware,
    ArmFirmware,
    DyeChemistry,
    Reservoir,
    SimClock,
    SnArChemistry,
    SpectrometerFirmware,
    StationFirmware,
    Vial,
)
from tests.conftest import small_workcell


def set_and_wait(obj, value):
    """``obj.set(value)`` awaited on the devices' (bluesky's) event loop."""

    async def go():
        await obj.set(value)

    return call_in_bluesky_event_loop(go())


class Recorder:
    """Wraps a firmware handler and remembers every line it was sent."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.lines: list[str] = []

    async def __call__(self, line: str) -> str:
        self.lines.append(line)
        return await self.handler(line)


@pytest.fixture
def rig():
    clock, cell = small_workcell()
    arm_wire = Recorder(ArmFirmware(clock, cell, "rack").handle)
    station_wire = Recorder(
        StationFirmware(clock, cell, "slot", {1: Reservoir("cyan", 3.0)}).handle
    )
    spec_wire = Recorder(SpectrometerFirmware(clock, cell, "holder", DyeChemistry()).handle)
    arm = RoboticArm(
        AsciiArmDriver(InProcessTransport(arm_wire, "arm"), "arm"),
        ["rack", "slot", "holder", "waste"],
        name="arm",
    )
    station = SynthesisStation(
        AsciiStationDriver(InProcessTransport(station_wire, "station"), "station"),
        clock,
        reagents={1: "cyan"},
        vial_capacity=Range(0, 5, "mL"),
        temperature=Range(20, 90, "degC"),
        stir_speed=Range(100, 1500, "rpm"),
        dispense_rate=Range(0.5, 30, "mL/min"),
        name="station",
    )
    spectrometer = Spectrometer(
        AsciiSpectrometerDriver(InProcessTransport(spec_wire, "spec"), "spec"),
        Range(1, 1000, "ms"),
        name="spec",
    )
    re = RunEngine({})

    async def connect() -> None:
        for d in (arm, station, spectrometer):
            await d.connect()

    call_in_bluesky_event_loop(connect())
    return re, arm, station, spectrometer, cell, (arm_wire, station_wire, spec_wire)


def test_plan_moves_a_vial_and_measures_with_units_in_descriptor(rig):
    re, arm, station, spec, cell, _ = rig
    docs = []

    def plan():
        yield from bps.open_run()
        yield from bps.mv(arm, "rack")
        yield from bps.mv(arm.gripper, "closed")
        yield from bps.mv(arm, "slot")
        yield from bps.mv(arm.gripper, "open")
        yield from bps.mv(station.pumps[1], "1.5 mL")
        yield from bps.mv(station.heater, "40 degC")
        yield from bps.mv(arm, "slot")
        yield from bps.mv(arm.gripper, "closed")
        yield from bps.mv(arm, "holder")
        yield from bps.mv(arm.gripper, "open")
        yield from bps.mv(spec.integration, "0.05 s")
        yield from bps.trigger_and_read([spec, station.heater, arm])
        yield from bps.close_run()

    re(plan(), lambda name, doc: docs.append((name, doc)))
    descriptor = next(d for n, d in docs if n == "descriptor")
    keys = descriptor["data_keys"]
    assert keys["spec-absorbance"]["shape"] == [101]
    assert keys["station-heater"]["units"] == "degC"
    config = descriptor["configuration"]["spec"]["data"]
    assert config["spec-integration"] == pytest.approx(50.0)
    event = next(d for n, d in docs if n == "event")
    assert event["data"]["arm"] == "holder"
    assert abs(event["data"]["station-heater"] - 40) <= 0.5
    assert np.asarray(event["data"]["spec-absorbance"]).max() > 0.1
    assert cell.vials_at["holder"].contents_ml == {"cyan": pytest.approx(1.5)}


def test_limits_and_units_are_refused_before_any_byte_is_sent(rig):
    _, arm, station, spec, _, (arm_wire, station_wire, spec_wire) = rig
    sent = (len(arm_wire.lines), len(station_wire.lines), len(spec_wire.lines))
    for obj, value, error, words in [
        (arm, "moon", LimitViolation, "not reachable"),
        (station.heater, "120 degC", LimitViolation, "outside 20..90 °C"),
        (station.heater, "60", UnitError, "has no unit"),
        (station.pumps[1], "2 s", UnitError, "volume"),
        (station.pumps[1], [2.0], UnitError, "is not a quantity"),
        (station.heater, 150, LimitViolation, "outside 20..90 °C"),  # a bare number: degC
        (station.stirrer, "5000 rpm", LimitViolation, "stir speed"),
        (spec.integration, "5 s", LimitViolation, "integration time"),
    ]:
        with pytest.raises(error, match=words):
            set_and_wait(obj, value)
    assert sent == (len(arm_wire.lines), len(station_wire.lines), len(spec_wire.lines))


def test_pump_refuses_more_than_the_reservoir_holds(rig):
    _, _, station, _, _, (_, station_wire, _) = rig
    with pytest.raises(LimitViolation, match="reservoir holds 3 mL"):
        set_and_wait(station.pumps[1], "3.5 mL")
    assert not any(line.startswith("DISP") for line in station_wire.lines)


def test_instrument_errors_are_typed_and_name_device_and_command(rig):
    _, arm, *_ = rig
    with pytest.raises(DeviceFault, match=r"arm \(command 'RELEASE'\): gripper is empty"):
        set_and_wait(arm.gripper, "open")


async def test_transport_timeout_and_garbage_are_typed(no_leaked_tasks):
    async def silent(line: str) -> str:
        await asyncio.sleep(10)
        return "OK"

    async def garbage(line: str) -> str:
        return "\x00\x17??"

    slow = InProcessTransport(silent, "pump")
    await slow.connect()
    with pytest.raises(
        DeviceTimeout, match=r"pump \(command 'LEVEL\? 1'\): no reply within 0.05 s"
    ):
        await LineChannel(slow, "pump", timeout=0.05).number("LEVEL? 1")
    bad = InProcessTransport(garbage, "pump")
    await bad.connect()
    with pytest.raises(ProtocolError, match="unexpected reply"):
        await LineChannel(bad, "pump").call("STATUS?")


def test_bare_numbers_are_in_the_unit_each_device_declares(rig):
    """The bluesky convention: ``bps.mv(heater, 60)`` and ``bp.scan`` with plain numbers."""
    import bluesky.plans as bp

    re, _, station, spec, _, (_, station_wire, _) = rig
    described = call_in_bluesky_event_loop(station.heater.describe())
    assert described["station-heater"]["units"] == "degC"
    re(bps.mv(station.heater, 45))
    assert "TEMP 45.000" in station_wire.lines
    docs = []
    re(bp.scan([station.stirrer], station.heater, 30, 60, 4), lambda n, d: docs.append((n, d)))
    temperatures = [d["data"]["station-heater"] for n, d in docs if n == "event"]
    assert temperatures == pytest.approx([30, 40, 50, 60], abs=0.5)
    re(bps.mv(spec.integration, 20))  # ms, as the integration time declares
    assert call_in_bluesky_event_loop(spec.integration.time.get_value()) == pytest.approx(20)
    with pytest.raises(LimitViolation, match=r"95 °C is outside 20\.\.90 °C"):
        set_and_wait(station.heater, 95)


def test_the_analyser_reports_named_quantities_with_units():
    re = RunEngine({})
    clock, cell = small_workcell()
    truth = SnArChemistry()
    fields = {"yield": "percent", "purity": "percent"}
    wire = AnalyserFirmware(clock, cell, "holder", truth, fields, run_time_s=1.0, noise=0.1)
    hplc = Analyser(
        AsciiAnalyserDriver(InProcessTransport(wire.handle, "hplc"), "hplc"), fields, name="hplc"
    )
    call_in_bluesky_event_loop(hplc.connect())
    vial = Vial("V1", 5.0, {"substrate": 1.0, "nucleophile": 1.5, "solvent": 2.0}, 60.0, 300.0)
    cell.vials_at["holder"] = vial
    docs = []
    re(bps_count([hplc]), lambda name, doc: docs.append((name, doc)))
    keys = next(d for n, d in docs if n == "descriptor")["data_keys"]
    assert keys["hplc-yield"]["units"] == "percent"
    data = next(d for n, d in docs if n == "event")["data"]
    ureg = pint.get_application_registry()
    expected = truth(
        {k: v * ureg.mL for k, v in vial.contents_ml.items()},
        {"temperature": ureg.Quantity(60.0, "degC"), "stir_time": 300 * ureg.s},
    )
    assert data["hplc-yield"] == pytest.approx(expected["yield"].m_as("percent"), abs=0.5)
    assert data["hplc-purity"] == pytest.approx(expected["purity"].m_as("percent"), abs=0.5)
    assert data["hplc-vial"] == vial.id


def test_an_analyser_whose_method_differs_from_the_lab_file_is_refused():
    RunEngine({})
    clock, cell = small_workcell()
    wire = AnalyserFirmware(clock, cell, "holder", SnArChemistry(), {"yield": "percent"})
    hplc = Analyser(
        AsciiAnalyserDriver(InProcessTransport(wire.handle, "hplc"), "hplc"),
        {"yield": "percent", "purity": "percent"},
        name="hplc",
    )
    with pytest.raises(DeviceFault, match="the instrument reports"):
        call_in_bluesky_event_loop(hplc.connect())


def test_one_run_ending_leaves_another_runs_arm_move_to_finish():
    """Two RunEngines on one loop share the arm (one per station). A RunEngine stops every
    part its run set when the run ends (``stop(success=True)``); that must not cut the arm's
    move that another run is waiting on (it once did: the move reported done where it
    started, and the vial was put down in the wrong place)."""
    _, cell = small_workcell()
    firmware = ArmFirmware(SimClock(1.0), cell, "rack")  # real time: a move takes a while
    arm = RoboticArm(
        AsciiArmDriver(InProcessTransport(firmware.handle, "arm"), "arm"),
        ["rack", "slot", "holder", "waste"],
        name="arm",
    )
    first = RunEngine({}, context_managers=[])
    second = RunEngine({}, loop=first.loop, context_managers=[])
    call_in_bluesky_event_loop(arm.connect())
    arrived: list[str] = []
    errors: list[BaseException] = []

    def run_second() -> None:
        try:
            second(long_move())
        except BaseException as err:
            errors.append(err)

    other = threading.Thread(target=run_second)

    @bpp.run_decorator()
    def short_run():
        yield from bps.mv(arm, "rack")  # already there: touches the arm, done at once
        other.start()  # the other run takes the arm now (as the next station's would)
        yield from bps.sleep(0.15)  # and this run ends while that move is under way

    @bpp.run_decorator()
    def long_move():
        yield from bps.mv(arm, "slot")  # 100 mm at 250 mm/s: 0.4 s
        arrived.append((yield from bps.rd(arm.location)))

    first(short_run())
    other.join(10)
    assert errors == [] and arrived == ["slot"]
    # a stop that means it (an abort, the emergency stop's) still ends a move: it fails
    status = call_in_bluesky_event_loop(_start_then_stop(arm, "waste"))
    assert isinstance(status.exception(), RuntimeError)


async def _start_then_stop(arm: RoboticArm, place: str):
    status = arm.set(place)
    await asyncio.sleep(0.05)
    await arm.stop(success=False)
    await asyncio.gather(status, return_exceptions=True)
    return status
