"""Serial drivers against their firmware on a real pseudo-terminal, with injected faults."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from devices import (
    AsciiArmDriver,
    AsciiSpectrometerDriver,
    AsciiStationDriver,
    DeviceDisconnected,
    DeviceFault,
    DeviceTimeout,
    InputState,
    ProtocolError,
    Range,
    SerialTransport,
    Spectrometer,
    UnitError,
)
from simulators import (
    ArmFirmware,
    DyeChemistry,
    Fault,
    PtyServer,
    Reservoir,
    SpectrometerFirmware,
    StationFirmware,
)
from tests.conftest import small_workcell

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


@pytest.fixture
async def arm(tmp_path: Path):
    clock, cell = small_workcell()
    firmware = ArmFirmware(clock, cell, home="rack")
    server = PtyServer(firmware, tmp_path / "arm", slow_s=0.5)
    await server.start()
    transport = SerialTransport(str(server.path), "arm", retries=2)
    driver = AsciiArmDriver(transport, "arm", move_timeout=0.3, timeout=0.3)
    await driver.connect()
    yield driver, server, firmware
    await driver.close()
    await server.stop()


async def test_commands_round_trip_over_the_pty(arm):
    driver, server, firmware = arm
    assert await driver.identify() == "SDL-Sim,RoboArm,SN1001,1.0"
    await driver.move("slot")
    assert await driver.position() == "slot"
    assert firmware.position == "slot"
    assert server.requests == ["*IDN?", "MOVE slot", "POS?"]


async def test_a_lost_reply_to_a_query_is_retried(arm):
    driver, server, _ = arm
    server.inject(Fault.NO_REPLY)
    assert await driver.position() == "rack"
    assert server.requests == ["POS?", "POS?"]


async def test_a_motion_command_is_never_retried(arm):
    driver, server, firmware = arm
    server.inject(Fault.NO_REPLY)
    with pytest.raises(DeviceTimeout, match=r"arm \(command 'MOVE slot'\).*not retried"):
        await driver.move("slot")
    assert server.requests == ["MOVE slot"]
    assert firmware.position == "rack"  # the swallowed command was not executed behind our back


async def test_queries_give_up_after_their_retries(arm):
    driver, server, _ = arm
    server.inject(Fault.NO_REPLY, times=3)
    with pytest.raises(DeviceTimeout, match=r"no complete reply within 0.3 s"):
        await driver.position()
    assert server.requests == ["POS?"] * 3


async def test_garbled_partial_and_slow_replies_are_typed(arm):
    driver, server, _ = arm
    server.inject(Fault.GARBLED)
    with pytest.raises(ProtocolError, match="unexpected reply"):
        await driver.move("slot")
    server.inject(Fault.PARTIAL)
    with pytest.raises(DeviceTimeout, match=r"got b'O"):
        await driver.move("rack")
    server.inject(Fault.SLOW)
    with pytest.raises(DeviceTimeout, match="not retried"):
        await driver.move("slot")


async def test_error_state_is_a_device_fault(arm):
    driver, _, firmware = arm
    firmware.error_state = "E-STOP pressed"
    with pytest.raises(DeviceFault, match=r"arm \(command 'MOVE slot'\): E-STOP pressed"):
        await driver.move("slot")
    firmware.error_state = None
    await driver.move("slot")


async def test_the_driver_reconnects_when_the_port_comes_back(arm):
    driver, server, _ = arm
    server.disconnect()
    with pytest.raises(DeviceDisconnected):
        await driver.position()
    server.reconnect()
    assert await driver.position() == "rack"


async def test_spectrometer_data_block_and_units_over_serial(tmp_path: Path):
    clock, cell = small_workcell()
    vial = cell.take("rack")
    vial.contents_ml = {"magenta": 0.5, "water": 4.0}
    cell.put("holder", vial)
    server = PtyServer(
        SpectrometerFirmware(clock, cell, "holder", DyeChemistry()), tmp_path / "spec"
    )
    await server.start()
    spec = Spectrometer(
        AsciiSpectrometerDriver(SerialTransport(str(server.path), "spec"), "spec", timeout=1),
        Range(1, 1000, "ms"),
        name="spec",
    )
    try:
        await spec.connect()
        requests = len(server.requests)
        with pytest.raises(UnitError, match="integration time"):
            await spec.integration.set("5 mL")
        assert len(server.requests) == requests  # refused before any byte was sent
        await spec.integration.set("0.1 s")  # 200 ms would saturate the detector
        await spec.trigger()
        absorbance = await spec.absorbance.get_value()
        assert absorbance.shape == (101,)
        assert absorbance.max() > 0.2
        assert server.requests[-5:] == ["INT 100.000", "INT?", "ACQ", "DATA?", "SAT?"]
    finally:
        await spec.driver.close()
        await server.stop()


@pytest.fixture
async def station(tmp_path: Path):
    """A station on a pty, on a clock slow enough that a dispense takes a while."""
    clock, cell = small_workcell()
    clock.speed = 100.0  # 1 mL at 10 mL/min: 6 s of lab time, 60 ms of real time
    firmware = StationFirmware(clock, cell, "slot", {1: Reservoir("water", 50.0)})
    cell.put("slot", cell.take("rack"))
    server = PtyServer(firmware, tmp_path / "station")
    await server.start()
    driver = AsciiStationDriver(SerialTransport(str(server.path), "station"), "station")
    await driver.connect()
    yield driver, server, firmware
    await driver.close()
    await server.stop()


async def test_interlocks_are_read_past_a_dispense_in_flight(station):
    driver, server, firmware = station
    dispensing = asyncio.create_task(driver.dispense(1, 5.0, 10.0))  # 0.3 s of real time
    await asyncio.sleep(0.05)
    firmware.leak = True
    started = time.monotonic()
    locks = await driver.interlocks()  # real time: does not wait for the dispense
    assert time.monotonic() - started < 0.1 and not dispensing.done()
    assert locks["leak"] == InputState(on=True, trips=1)
    assert locks["door_open"] == InputState(on=False, trips=0)
    assert abs(await driver.temperature() - firmware.temperature()) < 0.01
    await dispensing  # its own reply, not the real-time one, ends the dispense
    assert firmware.vial().contents_ml == pytest.approx({"water": 5.0})
    assert server.requests[:2] == ["DISP 1 5.0000 10.0000", "SENSE"]


async def test_a_pulse_between_two_reads_is_counted(station):
    driver, _, firmware = station
    firmware.door_open, firmware.door_open = True, False
    assert (await driver.interlocks())["door_open"] == InputState(on=False, trips=1)


async def test_a_late_real_time_reply_is_never_taken_for_a_command_reply(station):
    driver, server, firmware = station
    server.inject(Fault.SLOW, on="DISP")  # the reply to the dispense comes late
    dispensing = asyncio.create_task(driver.dispense(1, 1.0, 10.0))
    await asyncio.sleep(0.02)
    for _ in range(5):  # real-time replies arrive while the dispense's reply is awaited
        await driver.interlocks()
    await dispensing
    assert await driver.vial() == (firmware.vial().id, pytest.approx(1.0))
