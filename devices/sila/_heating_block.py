"""A heated vial block served by a SiLA 2 server (feature ``HeatingBlockController``,
devices/sila/HeatingBlockController.sila.xml): the same heating block as an EPICS one,
its signals backed by the feature's properties and commands."""

from __future__ import annotations

import asyncio
from typing import Any

from devices._block import BlockHeater, HeatingBlock
from devices._clock import Clock
from devices._quantity import Range
from devices._signals import instrument_r, instrument_rw
from devices.sila._driver import SilaDriver

#: the feature a SiLA 2 heating block must offer
FEATURE = "HeatingBlockController"


class SilaHeatingBlock(HeatingBlock):
    """A heated block on a SiLA 2 server: writing the heater's setpoint starts the
    observable ``ControlTemperature`` (its progress is the server's); the readback is
    ``CurrentTemperature``; ``occupied`` is ``VialPresent``.

    Args:
        driver: the link to the server.
        clock: lab time.
        limits: the temperatures it may be set to.
        ambient_c: the setpoint of its safe state.
        tolerance_c: how close the block must come to be settled.
        settle_timeout_s: how long (lab time) settling may take.
        name: the device's name.
    """

    driver: SilaDriver

    def __init__(
        self,
        driver: SilaDriver,
        clock: Clock,
        limits: Range,
        ambient_c: float = 25.0,
        tolerance_c: float = 0.5,
        settle_timeout_s: float = 3600.0,
        name: str = "",
    ) -> None:
        #: the last ``ControlTemperature`` (the dynamic client's instance: its
        #: ``progress`` and ``status`` are the server's)
        self.control: Any = None
        heater = BlockHeater(
            instrument_rw(
                float,
                self._target,
                self._control,
                "degC",
                f"{FEATURE}.TargetTemperature",
            ),
            instrument_r(float, self._temperature, "degC", f"{FEATURE}.CurrentTemperature"),
            clock,
            limits,
            tolerance_c,
            settle_timeout_s,
        )
        super().__init__(
            driver,
            heater,
            instrument_r(bool, self._vial, source=f"{FEATURE}.VialPresent"),
            ambient_c=ambient_c,
            timeout_s=driver.timeout,
            name=name,
        )

    async def _temperature(self) -> float:
        return float(
            await self.driver.call("CurrentTemperature", self.driver.feature.CurrentTemperature.get)
        )

    async def _target(self) -> float:
        return float(
            await self.driver.call("TargetTemperature", self.driver.feature.TargetTemperature.get)
        )

    async def _vial(self) -> bool:
        return bool(await self.driver.call("VialPresent", self.driver.feature.VialPresent.get))

    async def _control(self, celsius: float) -> None:
        """Start ``ControlTemperature`` and see it accepted (the heater's readback says
        when it has settled): a command the server refuses at once (its stop latched, a
        temperature it cannot reach) is its error here, not a wait that times out."""
        command = self.driver.feature.ControlTemperature
        self.control = instance = await self.driver.call(
            "ControlTemperature", lambda: command(celsius)
        )
        running = ("running", "finishedSuccessfully")
        for _ in range(100):  # the server reports its status within a moment
            status = getattr(instance.status, "name", None)
            if status == "finishedWithError":
                await self.driver.call("ControlTemperature", instance.get_responses)
            if status in running:
                return
            await asyncio.sleep(0.01)
