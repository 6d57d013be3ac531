"""A plate reader through PyLabRobot: empty wells (the blank) read near zero at each
diagnostic wavelength; a reader that cannot read a well fails here, by name."""

from __future__ import annotations

import numpy as np
import pint

from devices.liquid_handler import LiquidHandler
from devices.plate_reader import PlateReader
from hw_tests._context import CheckContext
from hw_tests._result import CheckResult, judged, skipped
from hw_tests.liquid_handler import used_wells
from lab.runtime.plate_kinds import PlateReaderSettings

ureg = pint.get_application_registry()
Context = CheckContext[PlateReader, PlateReaderSettings]


async def blank(ctx: Context) -> list[CheckResult]:
    """Read empty wells at the diagnostic wavelengths: the largest absorbance found.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    d = ctx.config.diagnostics
    plate = ctx.device.plate.name
    used = used_wells(ctx.lab.store, plate)
    handler = next(
        (
            h
            for h in ctx.lab.devices.others.values()
            if isinstance(h, LiquidHandler) and plate in h.resources
        ),
        None,
    )
    if handler is not None:
        empty = handler.empty_wells(plate, used)
    else:
        resource = ctx.device.plate_resource
        names = [str(resource.get_child_identifier(w)) for w in resource.get_all_items()]
        empty = [w for w in names if w not in used]
    wells = empty[-d.blank_wells :]
    if not wells:
        return [skipped(ctx.name, "blank", f"{plate} has no empty well: put a fresh plate")]
    nms = [float(q.m_as("nm")) for q in d.wavelengths]
    await ctx.device.read_plate.execute(np.asarray(nms), wells)
    values = {}
    for well in wells:
        await ctx.device.select.execute(well)
        values[well] = np.asarray(await ctx.device.absorbance.get_value(), dtype=float)
    unread = [w for w, v in values.items() if not np.all(np.isfinite(v))]
    worst = max(
        float(np.nanmax(np.abs(v))) if np.any(np.isfinite(v)) else 0.0 for v in values.values()
    )
    result = judged(
        ctx.name,
        "blank",
        ureg.Quantity(worst, ""),
        d.blank,
        "empty wells absorb: check the plate type, a lid or film left on, and the lamp",
        detail=f"wells {', '.join(wells)} at {', '.join(f'{n:g}' for n in nms)} nm",
    )
    if unread:
        result.status = "fail"
        result.hint = (
            f"no reading from {', '.join(unread)}: clean the plate's underside and the optics"
        )
    return [result]


CHECKS = {"blank": blank}


async def leave_safe(ctx: Context) -> None:
    """Nothing moves in a reader: nothing to undo.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
