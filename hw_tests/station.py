"""Synthesis station: leak sensor, reservoir levels, pump prime and delivered volume
against the reservoir's level sensor, heater ramp rate and stability, stirrer speed.
Pumping goes to the drain, never into a vial; heating is refused with a vial in the slot;
every setpoint is within the station's limits, and the station ends in its verified safe
state (stirrer off, heater at ambient)."""

from __future__ import annotations

import pint

from devices import SynthesisStation
from hw_tests._context import CheckContext
from hw_tests._result import CheckResult, judged, skipped, text, verdict
from lab.files.lab_file import StationConfig

ureg = pint.get_application_registry()
Context = CheckContext[SynthesisStation, StationConfig]
#: lab seconds between temperature samples, and the longest a heater check may take
SAMPLE_S, HEAT_TIMEOUT_S = 2.0, 1800.0


async def leak(ctx: Context) -> list[CheckResult]:
    """The leak sensor is dry.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    locks = await ctx.device.driver.interlocks()
    return [
        verdict(
            ctx.name,
            "leak",
            not locks["leak"].on,
            "wet" if locks["leak"].on else "dry",
            "the leak sensor is wet: find the leak (fittings, reservoirs) before any run",
            detail=f"leak sensor (tripped {locks['leak'].trips} times since power-up); "
            f"enclosure door {'open' if locks['door_open'].on else 'closed'}",
        )
    ]


async def reservoir_levels(ctx: Context) -> list[CheckResult]:
    """The lowest reservoir against its floor.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    levels = {p.reagent: await ctx.device.driver.level(p.index) for p in _pumps(ctx)}
    lowest = min(levels, key=levels.__getitem__)
    return [
        judged(
            ctx.name,
            "reservoir_level",
            levels[lowest] * ureg.mL,
            ctx.config.diagnostics.reservoir_level,
            f"the {lowest} reservoir is low: refill it",
            detail="lowest of " + ", ".join(f"{r} {v:.4g} mL" for r, v in levels.items()),
        )
    ]


def _pumps(ctx: Context) -> list:
    return list(ctx.device.pumps.values())


async def pumps(ctx: Context) -> list[CheckResult]:
    """Prime each line, then pump a reference volume to the drain and compare what the
    reservoir's level sensor saw leave with what was commanded.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    d = ctx.config.diagnostics
    prime_ml, reference_ml = float(d.prime_volume.m_as("mL")), float(d.reference_volume.m_as("mL"))
    primed, errors, notes = [], {}, []
    for pump in _pumps(ctx):
        before = await ctx.device.driver.level(pump.index)
        if before < prime_ml + reference_ml:
            notes.append(f"{pump.reagent}: skipped, reservoir holds {before:.3g} mL")
            continue
        await ctx.device.driver.prime(pump.index, prime_ml, pump.rate_ml_min)
        primed.append(pump.reagent)
        start = await ctx.device.driver.level(pump.index)
        await ctx.device.driver.prime(pump.index, reference_ml, pump.rate_ml_min)
        delivered = start - await ctx.device.driver.level(pump.index)
        errors[pump.reagent] = abs(delivered - reference_ml) / reference_ml
        notes.append(f"{pump.reagent}: {delivered:.4g} mL for {reference_ml:g} mL")
    results = [
        verdict(
            ctx.name,
            "prime",
            len(primed) == len(_pumps(ctx)),
            f"{len(primed)} of {len(_pumps(ctx))} lines primed",
            "refill the reservoirs that were skipped and run again",
            detail=f"{prime_ml:g} mL through each line to the drain",
        )
    ]
    if not errors:
        return [*results, skipped(ctx.name, "volume_error", "no pump could be checked")]
    worst = max(errors, key=errors.__getitem__)
    results.append(
        judged(
            ctx.name,
            "volume_error",
            errors[worst] * ureg.dimensionless,
            d.volume_error,
            f"the {worst} pump delivers off its command: recalibrate it or replace its seal/tubing",
            detail="; ".join(notes) + " (reservoir level fall, to the drain)",
        )
    )
    return results


async def heater(ctx: Context) -> list[CheckResult]:
    """Step to the test temperature: the mean rate from 10 % to 90 % of the step, then,
    once settled and soaked for ``hold``, the peak-to-peak over the next ``hold``.
    Refused with a vial in the slot.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    vial = await ctx.device.driver.vial()
    if vial:
        why = f"vial {vial[0]} is in the slot: it would be heated; clear the workcell first"
        return [skipped(ctx.name, "ramp_rate", why), skipped(ctx.name, "stability", why)]
    d = ctx.config.diagnostics
    heater = ctx.device.heater
    target = heater.limits.check(d.test_temperature, device=heater.name, what="temperature")
    start_c = await ctx.device.driver.temperature()
    t0 = ctx.clock.now()
    samples: list[tuple[float, float]] = [(0.0, start_c)]
    await ctx.device.driver.set_temperature(target)
    try:
        settled = await _follow(ctx, target, samples, t0)
        ramp_end = len(samples)
        if settled:
            await _sample_for(ctx, 2 * float(d.hold.m_as("s")), samples, t0)
    finally:
        await ctx.device.stop()
    plot = {
        "kind": "xy",
        "title": f"heater step {start_c:.3g} -> {target:g} degC",
        "x": [t for t, _ in samples],
        "y": [c for _, c in samples],
        "xlabel": "lab time (s)",
        "ylabel": "block temperature (degC)",
    }
    rate = ramp_rate(samples[:ramp_end], start_c, target)
    results = [
        judged(
            ctx.name,
            "ramp_rate",
            rate * ureg.K / ureg.min,
            d.ramp_rate,
            "the heater is slow: check the heater element, its fuse and the block's "
            "thermal contact",
            detail=f"mean rate from 10 % to 90 % of a step to {target:g} degC",
            plot=plot,
        )
    ]
    if not settled:
        results.append(
            skipped(ctx.name, "stability", f"did not settle within {HEAT_TIMEOUT_S:g} s")
        )
        return results
    hold_from = samples[-1][0] - float(d.hold.m_as("s"))
    held = [c for t, c in samples if t >= hold_from]
    span = (max(held) - min(held)) * ureg.K
    results.append(
        judged(
            ctx.name,
            "stability",
            span,
            d.stability,
            "the block temperature wanders: tune the controller or check the sensor",
            detail=f"peak to peak over {text(d.hold)} at {target:g} degC, after a soak of as long",
        )
    )
    return results


async def _follow(
    ctx: Context, target: float, samples: list[tuple[float, float]], t0: float
) -> bool:
    tolerance = ctx.device.heater.tolerance_c
    while ctx.clock.now() - t0 < HEAT_TIMEOUT_S:
        await ctx.clock.sleep(SAMPLE_S)
        celsius = await ctx.device.driver.temperature()
        samples.append((ctx.clock.now() - t0, celsius))
        if abs(celsius - target) <= tolerance:
            return True
    return False


async def _sample_for(
    ctx: Context, seconds: float, samples: list[tuple[float, float]], t0: float
) -> None:
    until = ctx.clock.now() + seconds
    while ctx.clock.now() < until:
        await ctx.clock.sleep(SAMPLE_S)
        samples.append((ctx.clock.now() - t0, await ctx.device.driver.temperature()))


def ramp_rate(samples: list[tuple[float, float]], start: float, target: float) -> float:
    """K/min between the first samples past 10 % and 90 % of the step (0 if too small)."""
    step = target - start
    if abs(step) < 1.0:
        return 0.0
    progress = [(t, (c - start) / step) for t, c in samples]
    low = next((t for t, p in progress if p >= 0.1), None)
    high = next((t for t, p in progress if p >= 0.9), None)
    if low is None:
        return 0.0
    if high is None:  # never got there: the rate so far
        high, reached = progress[-1][0], progress[-1][1]
        return 60.0 * abs(step) * (reached - 0.1) / max(high - low, 1e-9)
    return 60.0 * abs(step) * 0.8 / max(high - low, 1e-9)


async def stirrer(ctx: Context) -> list[CheckResult]:
    """Set a speed, read it back after 5 s.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    d = ctx.config.diagnostics
    rpm = ctx.device.stirrer.limits.check(d.stir_speed, device=ctx.name, what="stir speed")
    try:
        await ctx.device.stirrer.set(d.stir_speed)
        await ctx.clock.sleep(5.0)
        measured = await ctx.device.driver.stir()
    finally:
        await ctx.device.stop()
    return [
        judged(
            ctx.name,
            "stir_error",
            abs(measured - rpm) / rpm * ureg.dimensionless,
            d.stir_error,
            "the stirrer does not hold its speed: check the motor and the stir bar coupling",
            detail=f"set {rpm:g} rpm, measured {measured:.4g} rpm after 5 s",
        )
    ]


CHECKS = {
    "leak": leak,
    "reservoir_level": reservoir_levels,
    "prime, volume_error": pumps,
    "ramp_rate, stability": heater,
    "stir_error": stirrer,
}


async def leave_safe(ctx: Context) -> None:
    """The verified safe state (raises ``UnsafeState`` if it cannot be confirmed).

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    await ctx.device.stop()
