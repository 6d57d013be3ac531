"""A heating block (on an EPICS IOC or a SiLA 2 server): its state (a latched stop, a PV
in alarm), and its ramp rate on a step to the test temperature (refused with a vial in
the block). The block ends at ambient, read back."""

from __future__ import annotations

import pint

from devices import HeatingBlock
from hw_tests._context import CheckContext
from hw_tests._result import CheckResult, judged, skipped, verdict
from hw_tests.station import HEAT_TIMEOUT_S, SAMPLE_S, ramp_rate
from lab.runtime.heating_blocks import BlockSettings

ureg = pint.get_application_registry()
Context = CheckContext[HeatingBlock, BlockSettings]


async def alarm(ctx: Context) -> list[CheckResult]:
    """The stop is not latched and (EPICS) the temperature PV is out of MAJOR and
    INVALID alarm.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    state = await ctx.device.driver.state()
    return [
        verdict(
            ctx.name,
            "alarm",
            state == "idle",
            "no alarm" if state == "idle" else state,
            "look at the controller: a latched stop needs `lab devices reset`; a PV in alarm "
            "says the block is too hot or its sensor is gone",
            detail=f"state of {ctx.device.driver.link}, read from {ctx.device.heater.temperature.source}",
        )
    ]


async def ramp(ctx: Context) -> list[CheckResult]:
    """Step to the test temperature: the mean rate from 10 % to 90 % of the step.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if await ctx.device.occupied.get_value(cached=False):
        return [skipped(ctx.name, "ramp_rate", "a vial is in the block: clear the workcell")]
    d = ctx.config.diagnostics
    heater = ctx.device.heater
    target = heater.limits.check(d.test_temperature, device=ctx.name, what="temperature")
    start_c = await heater.temperature.get_value(cached=False)
    t0 = ctx.clock.now()
    samples = [(0.0, start_c)]
    await heater.setpoint.set(target)
    try:
        while ctx.clock.now() - t0 < HEAT_TIMEOUT_S:
            await ctx.clock.sleep(SAMPLE_S)
            now = await heater.temperature.get_value(cached=False)
            samples.append((ctx.clock.now() - t0, now))
            if abs(now - target) <= heater.tolerance_c:
                break
    finally:
        await ctx.device.stop()
    rate = ramp_rate(samples, start_c, target)
    return [
        judged(
            ctx.name,
            "ramp_rate",
            rate * ureg.K / ureg.min,
            d.ramp_rate,
            "the block heats slowly: check its ramp rate PV, the heater and its fuse",
            detail=f"mean rate from 10 % to 90 % of a step to {target:g} degC",
            plot={
                "kind": "xy",
                "title": f"block step {start_c:.3g} -> {target:g} degC",
                "x": [t for t, _ in samples],
                "y": [c for _, c in samples],
                "xlabel": "lab time (s)",
                "ylabel": "block temperature (degC)",
            },
        )
    ]


CHECKS = {"alarm": alarm, "ramp_rate": ramp}


async def leave_safe(ctx: Context) -> None:
    """Setpoint at ambient, read back.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    await ctx.device.stop()
