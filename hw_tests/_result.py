"""What one diagnostic check found: a status, the figure with its unit, the levels it was
judged against, and what to do about it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pint

from lab.files.diagnostics_file import delta

Status = Literal["pass", "warn", "fail", "skipped"]
#: worst first, for sorting and for a device's overall status
SEVERITY: dict[str, int] = {"fail": 0, "warn": 1, "skipped": 2, "pass": 3}


@dataclass
class CheckResult:
    """One check of one device.

    Args:
        device: the device's name in the lab file.
        check: the check's name (``dark_noise``, ``ramp_rate``, ...).
        status: ``pass``, ``warn``, ``fail`` or ``skipped`` (could not be run safely; see
            ``hint``).
        value: the measured figure with its unit, as text (``"0.031 mm"``).
        magnitude: the same figure as a number in ``unit``, for trends.
        unit: the unit of ``magnitude``.
        warn: the warn level it was judged against, as text.
        fail: the fail level, as text.
        hint: what staff should do (empty when it passed).
        detail: how it was measured, in a sentence.
        plot: data for the report's plots (not kept in the store).
    """

    device: str
    check: str
    status: Status
    value: str = ""
    magnitude: float | None = None
    unit: str = ""
    warn: str = ""
    fail: str = ""
    hint: str = ""
    detail: str = ""
    plot: dict[str, Any] | None = None
    time: float = field(default_factory=time.time)
    seconds: float = 0.0

    def as_dict(self, plots: bool = False) -> dict[str, Any]:
        """The result as JSON-able fields (with the plot data only if asked)."""
        data = asdict(self)
        if not plots:
            data.pop("plot")
        return data


def judged(
    device: str,
    check: str,
    measured: pint.Quantity,
    levels: Any,
    hint: str,
    detail: str = "",
    plot: dict[str, Any] | None = None,
) -> CheckResult:
    """Compare ``measured`` with a check's warn/fail levels (a ``lab.files.diagnostics_file``
    levels model) in the levels' unit; ``hint`` is shown unless it passed."""
    warn = delta(levels.warn)
    fail, value = delta(levels.fail).to(warn.units), delta(measured).to(warn.units)
    worse = (lambda a, b: a > b) if levels.larger_is_worse else (lambda a, b: a < b)
    status: Status = "pass"
    if worse(value.magnitude, fail.magnitude):
        status = "fail"
    elif worse(value.magnitude, warn.magnitude):
        status = "warn"
    return CheckResult(
        device,
        check,
        status,
        value=text(value),
        magnitude=float(value.magnitude),
        unit=f"{value.units:~P}",
        warn=text(warn),
        fail=text(fail),
        hint="" if status == "pass" else hint,
        detail=detail,
        plot=plot,
    )


def text(q: pint.Quantity) -> str:
    """A figure as staff read it: four significant digits and the short unit."""
    return f"{q.magnitude:.4g} {q.units:~P}".replace("Δ", "")


def verdict(
    device: str, check: str, ok: bool, value: str, hint: str, detail: str = ""
) -> CheckResult:
    """A check whose answer is yes or no (an identity, a homing, a leak sensor)."""
    return CheckResult(
        device, check, "pass" if ok else "fail", value=value, hint="" if ok else hint, detail=detail
    )


def skipped(device: str, check: str, why: str) -> CheckResult:
    """A check not run, and why (what to do so that it can be)."""
    return CheckResult(device, check, "skipped", hint=why)
