"""Diagnostics of an MT-SICS balance, as facility staff run them (``lab diagnose``):
zeroing, repeatability, zero drift, and linearity against check weights the arm carries
to the pan. Each leaves the pan as it found it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pint

from hw_tests import CheckContext, CheckResult, judged, skipped, verdict
from sdl_balance._device import Balance
from sdl_balance.kind import BalanceSettings

ureg = pint.get_application_registry()
Context = CheckContext[Balance, BalanceSettings]
#: how many weighings a repeatability check takes
REPEATS = 10


async def _pan_not_empty(ctx: Context, check: str) -> list[CheckResult] | None:
    """A check of the empty pan refuses to run on a loaded one."""
    grams = await ctx.device.weight_now.get_value()
    limit = 50 * float(ctx.config.readability.m_as("g"))
    if abs(grams) > limit:
        return [
            skipped(
                ctx.name,
                check,
                f"the pan holds {grams:.4g} g: clear it (a vial left there goes back with a "
                "campaign resume) and run the check again",
            )
        ]
    return None


async def zero(ctx: Context) -> list[CheckResult]:
    """``Z`` on the empty pan, then the reading is zero within two steps.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if refused := await _pan_not_empty(ctx, "zero"):
        return refused
    await ctx.device.zero.trigger()
    grams = await ctx.device.weight_now.get_value()
    step = float(ctx.config.readability.m_as("g"))
    return [
        verdict(
            ctx.name,
            "zero",
            abs(grams) <= 2 * step,
            f"{grams:.5g} g after Z",
            "the balance does not hold its zero: check that the pan sits right and nothing "
            "touches it, then have it serviced",
        )
    ]


async def repeatability(ctx: Context) -> list[CheckResult]:
    """Standard deviation of ten stable weighings of the empty pan.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if refused := await _pan_not_empty(ctx, "repeatability"):
        return refused
    readings = [await ctx.device.driver.weigh() for _ in range(REPEATS)]
    spread = ureg.Quantity(float(np.std(readings, ddof=1)), "g").to("mg")
    return [
        judged(
            ctx.name,
            "repeatability",
            spread,
            ctx.config.diagnostics.repeatability,
            "weighings of one load disagree: shield the balance from draughts and vibration, "
            "level it, and let it warm up",
            f"standard deviation of {REPEATS} stable weighings of the empty pan",
            {"kind": "series", "x": list(range(1, REPEATS + 1)), "y": readings, "unit": "g"},
        )
    ]


async def drift(ctx: Context) -> list[CheckResult]:
    """How far the zero moves over ``drift_window`` of lab time.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if refused := await _pan_not_empty(ctx, "drift"):
        return refused
    window = float(ctx.config.diagnostics.drift_window.m_as("s"))
    before = await ctx.device.driver.weigh()
    await ctx.clock.sleep(window)
    after = await ctx.device.driver.weigh()
    moved = ureg.Quantity(abs(after - before), "g").to("mg")
    return [
        judged(
            ctx.name,
            "drift",
            moved,
            ctx.config.diagnostics.drift,
            "the zero wanders: let the balance warm up (hours after power-on), keep it out of "
            "sun and air flow, and re-adjust it",
            f"the empty pan weighed {window:g} s apart",
        )
    ]


async def linearity(ctx: Context) -> list[CheckResult]:
    """The largest error on the check weights, each carried to the pan by the arm.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    weights = ctx.config.diagnostics.check_weights
    if not weights:
        return [
            skipped(
                ctx.name,
                "linearity",
                "no check weights: list their places under diagnostics.check_weights",
            )
        ]
    if refused := await _pan_not_empty(ctx, "linearity"):
        return refused
    await ctx.lab.devices.arm.connect()  # the arm carries the weights (connected once)
    await ctx.device.zero.trigger()
    errors: dict[str, float] = {}
    for place, nominal in weights.items():
        await _carry(ctx, place, ctx.config.pan)
        ctx.saved["on_pan"] = place
        errors[place] = await ctx.device.driver.weigh() - float(nominal.m_as("g"))
        await _carry(ctx, ctx.config.pan, place)
        ctx.saved.pop("on_pan")
    worst = max(errors.values(), key=abs)
    return [
        judged(
            ctx.name,
            "linearity",
            ureg.Quantity(abs(worst), "g").to("mg"),
            ctx.config.diagnostics.linearity,
            "the balance is off on a check weight: adjust it (internal or external "
            "calibration) and check the weights' certificates",
            ", ".join(f"{p}: {e * 1000:+.3g} mg" for p, e in errors.items()),
        )
    ]


async def _carry(ctx: Context, source: str, destination: str) -> None:
    arm: Any = ctx.lab.devices.arm
    await arm.set(source)
    await arm.gripper.set("closed")
    await arm.set(destination)
    await arm.gripper.set("open")


CHECKS = {"zero": zero, "repeatability": repeatability, "drift": drift, "linearity": linearity}


async def leave_safe(ctx: Context) -> None:
    """A check weight a failed check left on the pan goes back to its place.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    place = ctx.saved.pop("on_pan", None)
    if place is not None:
        await _carry(ctx, ctx.config.pan, place)
