"""Serial drivers against their firmware on a real pseudo-terminal, with injected faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices import (
    AsciiArmDriver,
    DeviceDisconnected,
    DeviceFault,
    DeviceTimeout,
    ProtocolError,
    SerialTransport,
)
from simulators import ArmFirmware, Fault, PtyServer
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
    assert await driver.identify() == "SDL-Sim RoboArm 1.0"
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
