"""Spectrometer: dark level and noise, lamp intensity, wavelength calibration against the
mercury lamp's lines, integration-time linearity and headroom below saturation. Checks
that need the light path empty are skipped while a vial sits in the holder; the
integration time is put back as it was."""

from __future__ import annotations

import numpy as np
import pint

from devices import Spectrometer
from hw_tests._context import CheckContext
from hw_tests._result import CheckResult, judged, skipped
from lab.files.lab_file import SpectrometerConfig

ureg = pint.get_application_registry()
Context = CheckContext[Spectrometer, SpectrometerConfig]
#: the mercury lines the calibration lamp must show (nm, NIST)
MERCURY_LINES_NM = (404.656, 435.833, 546.074, 576.960)
#: integration times of the linearity check, as fractions of the check's integration time
LINEARITY_STEPS = (0.25, 0.5, 0.75, 1.0)


async def _at(ctx: Context, ms: float) -> None:
    if "integration_ms" not in ctx.saved:  # put back by leave_safe
        ctx.saved["integration_ms"] = await ctx.device.integration.time.get_value()
    await ctx.device.integration.set(f"{ms} ms")


def _ms(ctx: Context) -> float:
    return float(ctx.config.diagnostics.integration_time.m_as("ms"))


async def _path_blocked(ctx: Context, *checks: str) -> list[CheckResult] | None:
    vial = await ctx.device.driver.vial()
    if vial:
        why = (
            f"vial {vial} is in the holder: this check needs the light path empty; "
            "clear the workcell first (a campaign resume carries it to waste)"
        )
        return [skipped(ctx.name, c, why) for c in checks]
    return None


async def dark(ctx: Context) -> list[CheckResult]:
    """Level and temporal noise of two dark frames (noise from their difference, so a
    fixed pattern across pixels is not taken for noise).

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    await _at(ctx, _ms(ctx))
    first, second = await ctx.device.driver.raw("dark"), await ctx.device.driver.raw("dark")
    level = float(np.mean((first + second) / 2))
    noise = float(np.std(first - second) / np.sqrt(2))
    levels = ctx.config.diagnostics
    wavelengths = (await ctx.device.wavelengths.get_value()).tolist()
    plot = {"kind": "spectra", "title": "dark frame (counts)", "x": wavelengths}
    plot["series"] = {"dark": first.tolist()}
    at = f"at {_ms(ctx):g} ms, shutter closed"
    return [
        judged(
            ctx.name,
            "dark_level",
            level * ureg.count,
            levels.dark_level,
            "high dark current: check the detector cooling and for light leaks",
            detail=f"mean of two dark frames {at}",
            plot=plot,
        ),
        judged(
            ctx.name,
            "dark_noise",
            noise * ureg.count,
            levels.dark_noise,
            "a noisy detector: check its grounding and cooling; service it if it persists",
            detail=f"standard deviation of the difference of two dark frames / sqrt 2, {at}",
        ),
    ]


async def lamp_intensity(ctx: Context) -> list[CheckResult]:
    """The lamp's light through the empty path, per ms of integration.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if blocked := await _path_blocked(ctx, "lamp_intensity"):
        return blocked
    ms = _ms(ctx)
    await _at(ctx, ms)
    dark_frame = await ctx.device.driver.raw("dark")
    reference = await ctx.device.driver.raw("ref")
    rate = float(np.median(reference - dark_frame)) / ms
    wavelengths = (await ctx.device.wavelengths.get_value()).tolist()
    return [
        judged(
            ctx.name,
            "lamp_intensity",
            rate * ureg.count / ureg.ms,
            ctx.config.diagnostics.lamp_intensity,
            "the lamp is weak: replace it (lamps age), or clean the light path",
            detail=f"median dark-subtracted reference counts per ms, at {ms:g} ms",
            plot={
                "kind": "spectra",
                "title": "reference, dark-subtracted (counts)",
                "x": wavelengths,
                "series": {"reference": (reference - dark_frame).tolist()},
            },
        )
    ]


def _line_centre(wavelengths: np.ndarray, counts: np.ndarray, near: float) -> float | None:
    """Where the line near ``near`` peaks: the vertex of a parabola through the log of the
    three highest points (exact for a Gaussian line), or None if no line is there."""
    window = np.flatnonzero(np.abs(wavelengths - near) <= 10.0)
    if window.size < 3:
        return None
    i = int(window[np.argmax(counts[window])])
    if i == 0 or i == len(counts) - 1 or counts[i] <= 0:
        return None
    a, b, c = np.log(np.clip(counts[i - 1 : i + 2], 1.0, None))
    denominator = a - 2 * b + c
    if denominator >= 0:  # not a peak
        return None
    step = wavelengths[i + 1] - wavelengths[i]
    return float(wavelengths[i] + 0.5 * step * (a - c) / denominator)


async def wavelength_calibration(ctx: Context) -> list[CheckResult]:
    """The calibration lamp's mercury lines against their known wavelengths.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    ms = _ms(ctx)
    await _at(ctx, ms)
    dark_frame = await ctx.device.driver.raw("dark")
    lamp = await ctx.device.driver.raw("lamp") - dark_frame
    wavelengths = np.asarray(await ctx.device.wavelengths.get_value())
    inside = [line for line in MERCURY_LINES_NM if wavelengths[0] < line < wavelengths[-1]]
    found = {line: _line_centre(wavelengths, lamp, line) for line in inside}
    missing = [line for line, centre in found.items() if centre is None]
    errors = {line: abs(c - line) for line, c in found.items() if c is not None}
    plot = {
        "kind": "spectra",
        "title": "calibration lamp (counts), known Hg lines dashed",
        "x": wavelengths.tolist(),
        "series": {"Hg lamp": lamp.tolist()},
        "lines": list(inside),
    }
    if missing or not errors:
        return [
            CheckResult(
                ctx.name,
                "wavelength_error",
                "fail",
                value=f"{len(missing)} of {len(inside)} lines not found",
                hint="the calibration lamp's lines are missing: check the lamp and the "
                "wavelength axis (WL?)",
                plot=plot,
            )
        ]
    worst = max(errors, key=errors.__getitem__)
    return [
        judged(
            ctx.name,
            "wavelength_error",
            errors[worst] * ureg.nm,
            ctx.config.diagnostics.wavelength_error,
            f"the {worst:g} nm line is off: recalibrate the wavelength axis",
            detail=f"{len(errors)} mercury lines located to a fraction of a pixel",
            plot=plot,
        )
    ]


async def linearity(ctx: Context) -> list[CheckResult]:
    """Counts against integration time, and the headroom left below full scale.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if blocked := await _path_blocked(ctx, "linearity", "saturation"):
        return blocked
    ms = _ms(ctx)
    times, signal = [], []
    peak = 0.0
    for fraction in LINEARITY_STEPS:
        await _at(ctx, fraction * ms)
        dark_frame = await ctx.device.driver.raw("dark")
        reference = await ctx.device.driver.raw("ref")
        times.append(fraction * ms)
        signal.append(float(np.median(reference - dark_frame)))
        peak = float(np.max(reference))  # the last is at the check's integration time
    t, s = np.asarray(times), np.asarray(signal)
    slope = float(t @ s / (t @ t))  # proportional: no light, no counts
    deviation = float(np.max(np.abs(s - slope * t) / (slope * t)))
    full_scale = await ctx.device.driver.full_scale()
    levels = ctx.config.diagnostics
    return [
        judged(
            ctx.name,
            "linearity",
            deviation * ureg.dimensionless,
            levels.linearity,
            "counts do not grow in proportion to integration time: the detector or its "
            "electronics need service",
            detail=f"median reference counts at {', '.join(f'{x:g}' for x in t)} ms against "
            "a line through the origin",
            plot={
                "kind": "xy",
                "title": "median reference counts against integration time",
                "x": t.tolist(),
                "y": s.tolist(),
                "fit": (slope * t).tolist(),
                "xlabel": "integration time (ms)",
                "ylabel": "counts",
            },
        ),
        judged(
            ctx.name,
            "saturation",
            peak / full_scale * ureg.dimensionless,
            levels.saturation,
            f"the reference peaks near full scale at {ms:g} ms: use a shorter integration "
            "time in the protocol",
            detail=f"peak reference counts / full scale ({full_scale:g}) at {ms:g} ms",
        ),
    ]


CHECKS = {
    "dark_level, dark_noise": dark,
    "lamp_intensity": lamp_intensity,
    "wavelength_error": wavelength_calibration,
    "linearity, saturation": linearity,
}


async def leave_safe(ctx: Context) -> None:
    """The integration time as the checks found it.

    Args:
        ctx: the device under test, its lab-file entry and the connected lab.
    """
    if "integration_ms" in ctx.saved:
        await ctx.device.integration.set(f"{ctx.saved['integration_ms']} ms")
