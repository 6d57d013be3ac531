"""A liquid handler through PyLabRobot: a tip picked up and dropped (the channel says it
holds one, then none), the reservoirs (each holds what a trial needs), and a dispense
check read back by the lab's plate reader in two empty wells, which the ledger then
keeps as used."""

from __future__ import annotations

import numpy as np
import pint

from devices import LimitViolation
from devices.liquid_handler import LiquidHandler
from devices.plate_reader import PlateReader
from hw_tests._context import CheckContext
from hw_tests._result import CheckResult, judged, skipped, verdict
from lab.runtime.plate_kinds import LiquidHandlerSettings
from lab.store import Store

ureg = pint.get_application_registry()
Context = CheckContext[LiquidHandler, LiquidHandlerSettings]


async def tips(ctx: Context) -> list[CheckResult]:
    """Pick up the next tip and drop it in the trash: the channel reports it held, then
    not (one tip is used).

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    handler = ctx.device
    spots = handler.tip_spots()
    if not spots:
        return [skipped(ctx.name, "tip_pickup", "no tips left: put a fresh tip rack on the deck")]
    machine = handler.driver.machine
    await handler.driver.call("pick up tip", lambda: machine.pick_up_tips([spots[0]]))
    held = machine.head[0].has_tip
    await handler.stop()
    dropped = not machine.head[0].has_tip
    return [
        verdict(
            ctx.name,
            "tip_pickup",
            held and dropped,
            "picked up and dropped" if held and dropped else f"held: {held}, dropped: {dropped}",
            "check the tip rack's position on the deck and the channel's tip sensor",
            detail=f"tip {spots[0].name} picked up and discarded",
        )
    ]


async def dispense(ctx: Context) -> list[CheckResult]:
    """``volume`` and twice it of the dye, each made up to ``total``, read back by the
    plate reader: the second well's absorbance over the first's must be 2.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    d = ctx.config.diagnostics
    reader = next((x for x in ctx.lab.devices.others.values() if isinstance(x, PlateReader)), None)
    if d.dye is None or d.diluent is None:
        return [skipped(ctx.name, "dispense", "set diagnostics.dye and diluent to check it")]
    if reader is None:
        return [skipped(ctx.name, "dispense", "the lab has no plate reader to read it back")]
    plate = reader.plate.name
    if not reader.driver.machine.setup_finished:  # diagnosed alone, the reader is not up
        await reader.connect()
    wells = ctx.device.empty_wells(plate, used_wells(ctx.lab.store, plate))[-2:]
    if len(wells) < 2:
        return [skipped(ctx.name, "dispense", f"{plate} has no two empty wells: put a fresh plate")]
    one = float(d.volume.m_as("uL"))
    total = float(d.total.m_as("uL"))
    try:
        for well, dye_ul in zip(wells, (one, 2 * one), strict=True):
            await ctx.device.pipette.execute(d.diluent, plate, well, total - dye_ul)
            await ctx.device.pipette.execute(d.dye, plate, well, dye_ul)
            await ctx.device.mix.execute(plate, well, total / 2, 3)
    except LimitViolation as err:
        return [skipped(ctx.name, "dispense", err.message)]
    finally:
        keep_used(ctx, plate, wells)
    nm = float(d.wavelength.m_as("nm"))
    await reader.read_plate.execute(np.asarray([nm]), wells)
    readings = []
    for well in wells:
        await reader.select.execute(well)
        readings.append(float((await reader.absorbance.get_value())[0]))
    ratio = readings[1] / readings[0] if readings[0] > 0 else float("inf")
    return [
        judged(
            ctx.name,
            "dispense",
            ureg.Quantity(abs(ratio - 2.0) / 2.0 * 100, "%"),
            d.linearity,
            "a dispense delivers the wrong volume: check the tips' fit, the liquid class "
            "and the channel's calibration",
            detail=f"{one:g} and {2 * one:g} µL of {d.dye} to {total:g} µL in {wells[0]} and "
            f"{wells[1]}, read at {nm:g} nm: {readings[0]:.4g} and {readings[1]:.4g}",
        )
    ]


def used_wells(store: Store | None, plate: str) -> set[str]:
    """The plate's wells the ledger knows were filled (by trials, or by checks)."""
    if store is None:
        return set()
    return {sample.split("/", 1)[1] for sample in store.sample_ids(f"{plate}/")}


def keep_used(
    ctx: CheckContext[LiquidHandler, LiquidHandlerSettings], plate: str, wells: list[str]
) -> None:
    """Wells a check filled go into the ledger, so no trial uses them."""
    store = ctx.lab.store
    if store is None:
        return
    for well in wells:
        if store.sample(f"{plate}/{well}") is None:
            store.add_sample(
                f"{plate}/{well}", "diagnostics", -1, {}, "on the plate, a diagnostic's"
            )


CHECKS = {"tip_pickup": tips, "dispense": dispense}


async def leave_safe(ctx: Context) -> None:
    """No tip on the channel.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    await ctx.device.stop()
