"""Analyser (HPLC/GC-like): the instrument's method reports the quantities, in the units,
the lab file declares, and the instrument is ready for a run. No sample is injected: a
test injection needs a standard, which staff load by hand."""

from __future__ import annotations

from devices import Analyser
from hw_tests._context import CheckContext
from hw_tests._result import CheckResult, verdict
from lab.files.lab_file import AnalyserConfig

Context = CheckContext[Analyser, AnalyserConfig]


async def method(ctx: Context) -> list[CheckResult]:
    """The fields and units of the loaded method, against the lab file's ``fields``.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    reported = await ctx.device.driver.fields()
    declared = ctx.config.fields
    return [
        verdict(
            ctx.name,
            "method",
            reported == declared,
            ", ".join(f"{k} ({u})" for k, u in reported.items()),
            f"the method reports {reported}, the lab file declares {declared}: load the "
            "method the campaigns expect, or correct fields: in the lab file",
        )
    ]


async def ready(ctx: Context) -> list[CheckResult]:
    """Idle, not in an error or emergency-stop state.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    state = await ctx.device.driver.state()
    return [
        verdict(
            ctx.name,
            "ready",
            state == "idle",
            state,
            "clear the instrument's error (RESET from `lab devices`, or at its panel)",
        )
    ]


CHECKS = {"method": method, "ready": ready}


async def leave_safe(ctx: Context) -> None:
    """Nothing to put back: no check changes the analyser.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
