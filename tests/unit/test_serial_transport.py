"""Serial drivers against their firmware on a real pseudo-terminal, with injected faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices import (
    AsciiArmDriver,
    AsciiSpectrometerDriver,
    DeviceDisconnected,
    DeviceFault,
    DeviceTimeout,
    ProtocolError,
    Range,
    SerialTransport,
    Spectrometer,
    UnitError,
)
from simulators import ArmFirmware, DyeChemistry, Fault, PtyServer, SpectrometerFirmware
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
