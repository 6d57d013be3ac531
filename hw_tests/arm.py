"""Robotic arm: homing, every configured location, gripper cycle, repeatability and
accuracy against the taught coordinates. Moves go only to configured locations, with the
gripper empty, and the arm is sent home at the end."""

from __future__ import annotations

import numpy as np
import pint

from devices import RoboticArm
from hw_tests._context import CheckContext
from hw_tests._result import CheckResult, judged, skipped, verdict
from lab.files.lab_file import ArmConfig

ureg = pint.get_application_registry()
Context = CheckContext[RoboticArm, ArmConfig]


async def _holding(ctx: Context) -> str | None:
    return await ctx.device.driver.held()


async def _refusal(ctx: Context, check: str) -> list[CheckResult] | None:
    vial = await _holding(ctx)
    if vial:
        return [
            skipped(
                ctx.name,
                check,
                f"the gripper holds vial {vial}: an arm check would carry it around; "
                "clear the workcell first (a campaign resume carries it to waste)",
            )
        ]
    return None


async def homing(ctx: Context) -> list[CheckResult]:
    """Home, and read back that the arm is there.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if refused := await _refusal(ctx, "homing"):
        return refused
    home = ctx.config.home
    start = ctx.clock.now()
    await ctx.device.set(home)
    where = await ctx.device.driver.position()
    return [
        verdict(
            ctx.name,
            "homing",
            where == home,
            f"at {where} after {ctx.clock.now() - start:.3g} s",
            f"the arm reports {where!r}, not its home {home!r}: re-teach home",
        )
    ]


async def reach(ctx: Context) -> list[CheckResult]:
    """Every configured location, reached and read back.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if refused := await _refusal(ctx, "reach"):
        return refused
    missed = []
    for location in ctx.config.reach:
        await ctx.device.set(location)
        if await ctx.device.driver.position() != location:
            missed.append(location)
    await ctx.device.set(ctx.config.home)
    n = len(ctx.config.reach)
    return [
        verdict(
            ctx.name,
            "reach",
            not missed,
            f"{n - len(missed)} of {n} locations",
            f"not reached: {', '.join(missed)}; check the taught points and the arm's list",
            detail="moved to every location in `reach` and read back where it stopped",
        )
    ]


async def positioning(ctx: Context) -> list[CheckResult]:
    """Repeatability (spread of arrivals) and accuracy (their mean against the taught
    point), each location approached from home ``moves`` times, as ISO 9283 does.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if refused := await _refusal(ctx, "repeatability"):
        return [*refused, skipped(ctx.name, "accuracy", refused[0].hint)]
    levels = ctx.config.diagnostics
    taught = {n: np.asarray(ctx.lab.config.locations[n].xyz_mm) for n in ctx.config.reach}
    arrivals: dict[str, list[np.ndarray]] = {n: [] for n in taught}
    home = ctx.config.home
    away = next((n for n in taught if n != home), home)
    for _ in range(levels.moves):
        for location in taught:
            await ctx.device.set(home if location != home else away)  # approach afresh
            await ctx.device.set(location)
            arrivals[location].append(np.asarray(await ctx.device.driver.xyz()))
    await ctx.device.set(home)
    spread, offset = {}, {}
    for location, points in arrivals.items():
        p = np.asarray(points)
        mean = p.mean(axis=0)
        spread[location] = float(np.max(np.linalg.norm(p - mean, axis=1)))
        offset[location] = float(np.linalg.norm(mean - taught[location]))
    worst_spread = max(spread, key=spread.__getitem__)
    worst_offset = max(offset, key=offset.__getitem__)
    plot = {
        "kind": "scatter",
        "title": "arrivals around each taught point (mm)",
        "points": {n: (np.asarray(p) - taught[n]).tolist() for n, p in arrivals.items()},
    }
    moves = f"{levels.moves} arrivals at each of {len(taught)} locations"
    return [
        judged(
            ctx.name,
            "repeatability",
            spread[worst_spread] * ureg.mm,
            levels.repeatability,
            f"worst at {worst_spread}: check the gripper mount and joint backlash; "
            "service the arm if it grows",
            detail=f"{moves}; largest distance of an arrival from their mean",
            plot=plot,
        ),
        judged(
            ctx.name,
            "accuracy",
            offset[worst_offset] * ureg.mm,
            levels.accuracy,
            f"worst at {worst_offset}: the arm stops away from the taught point; "
            "re-teach the locations or check for a knock",
            detail=f"{moves}; distance of their mean from the lab file's xyz_mm",
        ),
    ]


async def gripper_cycle(ctx: Context) -> list[CheckResult]:
    """Close and open the empty gripper, timed.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if refused := await _refusal(ctx, "gripper_cycle"):
        return refused
    start = ctx.clock.now()
    await ctx.device.driver.cycle_gripper()
    seconds = ctx.clock.now() - start
    return [
        judged(
            ctx.name,
            "gripper_cycle",
            seconds * ureg.s,
            ctx.config.diagnostics.gripper_cycle,
            "the gripper is slow: check its air supply or motor and clean the jaws",
            detail="closed and opened the empty gripper",
        )
    ]


CHECKS = {
    "homing": homing,
    "reach": reach,
    "repeatability, accuracy": positioning,
    "gripper_cycle": gripper_cycle,
}


async def leave_safe(ctx: Context) -> None:
    """Home, unless it holds a vial (then it stays where it is).

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if not await _holding(ctx):
        await ctx.device.set(ctx.config.home)
