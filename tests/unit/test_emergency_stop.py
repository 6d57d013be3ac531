"""The real-time emergency stop and port ownership, over real pseudo-terminals."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from devices import AsciiArmDriver, DeviceBusy, DeviceFault, SerialTransport
from simulators import ArmFirmware, Location, PtyServer, SimClock, Workcell

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


@pytest.fixture
async def slow_arm(tmp_path: Path):
    """An arm whose 100 mm move takes 2 s of real time."""
    cell = Workcell([Location("rack", (0, 0, 0), source=True), Location("slot", (100, 0, 0))])
    firmware = ArmFirmware(SimClock(1.0), cell, "rack", speed_mm_s=50.0, grip_s=0.0)
    server = PtyServer(firmware, tmp_path / "arm")
    await server.start()
    driver = AsciiArmDriver(SerialTransport(str(server.path), "arm"), "arm", move_timeout=10)
    await driver.connect()
    yield driver, server, firmware
    await driver.close()
    await server.stop()


async def test_the_stop_overtakes_a_move_in_flight_and_latches(slow_arm):
    driver, server, firmware = slow_arm
    moving = asyncio.create_task(driver.move("slot"))
    await asyncio.sleep(0.2)
    assert driver.busy  # the line is taken by the move until its reply
    start = time.perf_counter()
    await driver.emergency_stop()  # confirmed by STATE? once the move has answered
    assert time.perf_counter() - start < 1.5  # it did not wait for the 2 s move to end
    with pytest.raises(DeviceFault, match=r"arm \(command 'MOVE slot'\): stopped by emergency"):
        await moving
    assert firmware.position == "rack" and firmware.estopped
    assert server.requests == ["MOVE slot", "ESTOP", "STATE?"]
    with pytest.raises(DeviceFault, match="emergency stop latched; RESET required"):
        await driver.move("slot")
    assert await driver.position() == "rack"  # queries still answer
    await driver.reset()
    assert await driver.state() == "idle"
    await driver.grip()  # motion is allowed again
    assert firmware.held is not None


async def test_a_port_has_one_owner(slow_arm, tmp_path: Path):
    driver, server, _ = slow_arm
    second = SerialTransport(str(server.path), "arm-again")
    with pytest.raises(DeviceBusy) as refused:
        await second.connect()
    assert f"is in use by process {os.getpid()}" in str(refused.value)
    assert str(refused.value).startswith("arm-again: ")
    alias = tmp_path / "alias"  # another name of the same port is the same claim
    alias.symlink_to(os.path.realpath(server.path))
    with pytest.raises(DeviceBusy):
        await SerialTransport(str(alias), "alias").connect()
    await driver.close()
    await second.connect()  # free once the owner closed it
    await second.close()
